import numpy as np

from clipsonic.data.synthesize import CAPTION_TEMPLATES, QUERY_TEMPLATES, query_captions
from clipsonic.modality_gap import gap_to_images, modality_gap


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_modality_gap_measures():
    rng = np.random.default_rng(0)
    image = _unit(rng.standard_normal((200, 16)))
    labels = np.arange(200) % 4
    same = modality_gap(image, image, labels)
    assert abs(same["paired_cosine"] - 1) < 1e-9 and same["centroid_distance"] < 1e-9
    shift = np.zeros(16)
    shift[0] = 3.0
    text = _unit(image + shift)  # every text embedding pushed the same way: a modality gap
    gap = modality_gap(text, image, labels)
    assert gap["paired_cosine"] < 0.6 and gap["centroid_distance"] > 0.5
    g = gap_to_images(text, labels, image, labels)
    assert g["centroid_distance"] > 0.5 and set(g) >= {"cosine_to_class_images", "nearest_class_top1", "n"}


def test_evaluation_queries_are_held_out_paraphrases():
    assert not set(QUERY_TEMPLATES) & set(CAPTION_TEMPLATES)
    q = query_captions(0, 16, seed=0)
    assert len(q) == len(set(q)) == 16 and q == query_captions(0, 16, seed=0)
    assert q != query_captions(0, 16, seed=1)
