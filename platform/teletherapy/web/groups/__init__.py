"""Group session pages: browse open groups, take a seat or wait, therapists create groups."""
