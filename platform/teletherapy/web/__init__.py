"""Blueprints: pages and the JSON API; thin shells around the services."""
