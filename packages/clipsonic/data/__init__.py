"""Data: the two embedded audio-visual worlds (synthetic shapes, everyday sound events), video decoding, embedding
cache and datasets."""
