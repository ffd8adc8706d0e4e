"""Use cases: load, decide with the domain, persist, notify; each owns its one commit."""
