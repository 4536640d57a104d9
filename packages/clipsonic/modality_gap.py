"""The modality gap between CLIP text and image embeddings (Liang et al., NeurIPS 2022), measured on paired
unit embeddings: how far text embeddings sit from the image embeddings they describe. ZS mode conditions an
image-trained model on text embeddings, so the larger this gap, the more ZS has to lose (and PD to win)."""

from __future__ import annotations

import numpy as np


def modality_gap(text: np.ndarray, image: np.ndarray, labels: np.ndarray | None = None) -> dict[str, float]:
    """Gap measures for paired unit embeddings ``text`` [N, D] and ``image`` [N, D] (row i describes row i):

    - ``paired_cosine``: mean cosine of a caption and its own image (1 = no gap);
    - ``centroid_distance``: ``|mean(text) - mean(image)|`` (Liang et al.'s gap vector length; 0 = no gap);
    - ``image_image_cosine``: mean cosine between images of the same class (how close image-to-image pairs
      are, for scale; needs ``labels``);
    - ``text_to_image_top1``: how often a caption's nearest image-class centroid is its own class (needs labels).
    """
    text, image = np.asarray(text, np.float64), np.asarray(image, np.float64)
    out = {
        "paired_cosine": float((text * image).sum(1).mean()),
        "centroid_distance": float(np.linalg.norm(text.mean(0) - image.mean(0))),
        "n": int(len(text)),
    }
    if labels is not None:
        labels = np.asarray(labels)
        classes = np.unique(labels)
        same = [image[labels == c] @ image[labels == c].T for c in classes]
        out["image_image_cosine"] = float(np.mean([s[~np.eye(len(s), dtype=bool)].mean() for s in same if len(s) > 1]))
        cent = np.stack([image[labels == c].mean(0) for c in classes])
        cent /= np.linalg.norm(cent, axis=1, keepdims=True)
        out["text_to_image_top1"] = float((classes[(text @ cent.T).argmax(1)] == labels).mean())
    return out


def gap_to_images(x: np.ndarray, labels: np.ndarray, images: np.ndarray, image_labels: np.ndarray) -> dict[str, float]:
    """How far unit conditions ``x`` [N, D] of classes ``labels`` are from the image embeddings ``images`` of
    the same classes (unpaired): mean cosine to the images of their own class, the distance between the
    centroid of ``x`` and that of the images, and how often the nearest image-class centroid is the right one."""
    x, images = np.asarray(x, np.float64), np.asarray(images, np.float64)
    labels, image_labels = np.asarray(labels), np.asarray(image_labels)
    classes = np.unique(image_labels)
    cent = np.stack([images[image_labels == c].mean(0) for c in classes])
    own = np.array([(images[image_labels == c] @ v).mean() for v, c in zip(x, labels)])
    unit = cent / np.linalg.norm(cent, axis=1, keepdims=True)
    return {
        "cosine_to_class_images": float(own.mean()),
        "centroid_distance": float(np.linalg.norm(x.mean(0) - images.mean(0))),
        "nearest_class_top1": float((classes[(x @ unit.T).argmax(1)] == labels).mean()),
        "n": int(len(x)),
    }
