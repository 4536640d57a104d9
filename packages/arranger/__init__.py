"""arranger toolkit: automatic instrumentation by learning to separate parts (Dong et al., ISMIR 2021).

Modules: ``data`` (datasets, part mapping, splits), ``features`` (per-note features, hints, batching),
``models`` (LSTM/BiLSTM, Transformer decoder/encoder, MLP), ``baselines`` (most-common, zone,
closest-pitch), ``module`` (Lightning), ``predict`` (a trained arranger from a checkpoint), ``metrics``,
``train`` / ``evaluate`` / ``infer`` (Hydra entry points), ``streaming`` (live use), ``demo``.
"""
