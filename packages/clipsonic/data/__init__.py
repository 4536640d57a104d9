"""Data: the synthetic audio-visual world, video decoding, embedding cache and datasets."""
