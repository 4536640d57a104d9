"""arranger toolkit: automatic instrumentation by learning to separate parts (Dong et al., ISMIR 2021).

    from arranger import Arranger
    music = Arranger.from_pretrained("bach_bilstm").arrange("song.mid")   # a muspy.Music; nothing written

Modules: ``data`` (datasets, part mapping, splits), ``representation`` (music <-> note arrays, per-note
features, batching), ``embedding`` / ``models`` / ``transformer`` (the nets), ``baselines`` (most-common, zone,
closest-pitch), ``lightning`` (Lightning data and model modules), ``predict`` (``Arranger``: a trained arranger
from a shipped model or checkpoint), ``metrics``, ``streaming`` (note by note), and the entry points ``train`` /
``evaluate`` / ``infer`` / ``live`` (a MIDI keyboard arranged as it plays) / ``demo``.
"""

from arranger.predict import Arranger

__all__ = ["Arranger"]
