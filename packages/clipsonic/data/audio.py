"""The raw audio of a video set, cut to the segment length of the mel settings and cached per split: what
the neural vocoder trains on (videos decoded once; labels, when present, only decide the split)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from clipsonic.data.dataset import file_key, read_labels, segment_samples, split_of
from clipsonic.data.video import list_videos, read_video
from gm_common.errors import InputFileError
from gm_common.files import atomic_path


def audio_segments(data_cfg: dict, log=print) -> dict[str, np.ndarray]:
    """split -> float32 audio [N, (frames - 1) * hop] (zero-padded), cached in ``cache_dir/audio-<hash>.npz``."""
    data_cfg = OmegaConf.create(data_cfg)
    files = list_videos(data_cfg.videos)
    mel = OmegaConf.to_container(data_cfg.mel, resolve=True)
    n, sr = segment_samples(mel), int(mel["sample_rate"])
    key = json.dumps([n, sr, str(data_cfg.labels_csv), [file_key(f) for f in files]])
    path = Path(data_cfg.cache_dir) / f"audio-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"
    if not path.is_file():
        labels = read_labels(data_cfg.labels_csv)
        parts: dict[str, list[np.ndarray]] = {}
        for f in files:
            try:
                audio = read_video(f, n_frames=1, sample_rate=sr)[1]
            except InputFileError as err:
                if not data_cfg.skip_bad:
                    raise
                log(f"warning: skipping {err}")
                continue
            segment = np.zeros(n, np.float32)
            segment[: min(n, audio.size)] = audio[:n]
            parts.setdefault(split_of(f.name, labels.get(f.name), float(data_cfg.valid_fraction)), []).append(segment)
        if not parts:
            raise InputFileError(Path(data_cfg.videos), "no readable video with an audio track")
        with atomic_path(path) as tmp:
            np.savez(tmp, **{k: np.stack(v) for k, v in parts.items()})
    with np.load(path) as z:
        return {k: z[k] for k in z.files}
