"""gm_common: what the three toolkits (mmt, arranger, clipsonic) share.

Modules: ``notes`` (MIDI/MusicXML/ABC I/O on MusPy), ``corpus`` (music21 corpus and user folders,
cached and split), ``audio`` (WAV I/O, log-mel, Griffin-Lim), ``render`` (FluidSynth), ``plots``
(piano rolls, spectrograms), ``training`` / ``checkpoint`` / ``seed`` (Lightning utilities),
``files`` (atomic writes), ``errors`` (the package's exception types).
"""

from gm_common.errors import InputFileError, ToolkitError

__all__ = ["InputFileError", "ToolkitError"]
