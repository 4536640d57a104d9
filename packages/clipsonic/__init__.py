"""clipsonic toolkit."""
