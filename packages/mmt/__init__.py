"""mmt toolkit."""
