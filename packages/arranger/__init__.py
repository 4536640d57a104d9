"""arranger toolkit."""
