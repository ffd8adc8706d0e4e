"""Pure business logic: stdlib and zoneinfo only, no Flask, no SQLAlchemy, no clock reads."""
