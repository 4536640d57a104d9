import csv

import numpy as np

from clipsonic.data.synthesize import CONCEPTS, draw_concept, synth_sound
from clipsonic.data.video import read_video


def test_set_layout(world):
    rows = list(csv.DictReader(open(world.data / "labels.csv")))
    assert len(rows) == 3 * len(CONCEPTS) and {r["split"] for r in rows} == {"train", "valid", "test"}
    caps = list(csv.DictReader(open(world.data / "captions.csv")))
    assert len(caps) == 48 and all(c["caption"].strip() for c in caps)
    frames, audio = read_video(world.data / rows[0]["file"], n_frames=3, sample_rate=16000)
    assert frames.shape == (3, 32, 32, 3) and frames.dtype == np.uint8
    assert audio.ndim == 1 and audio.size > 0.5 * 16000 and np.abs(audio).max() > 0.05


def test_at_least_eight_distinct_concepts():
    assert len(CONCEPTS) >= 8 and len({c.name for c in CONCEPTS}) == len(CONCEPTS)
    rng = np.random.default_rng(0)
    sounds = [synth_sound(i, 8000, 16000, rng) for i in range(len(CONCEPTS))]
    assert all(s.shape == (8000,) and np.isfinite(s).all() for s in sounds)
    imgs = [np.asarray(draw_concept(c, 32, np.random.default_rng(1))[0]) for c in CONCEPTS]
    assert len({im.tobytes() for im in imgs}) == len(CONCEPTS)
