"""Shipped models: trained weights kept in the repository as safetensors, a folder per model with its card.

A toolkit keeps them under ``packages/<pkg>/pretrained/<name>/``: one or more ``<part>.safetensors`` files
(the weights; the hyper-parameters as JSON in the file's metadata) and ``card.json`` (data, command, commit,
wall time, machine, test figures). Loading never unpickles: ``gm_common.checkpoint.load_checkpoint`` reads a
``.safetensors`` file into the same ``{"hyper_parameters", "state_dict"}`` dict as a Lightning checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from gm_common.checkpoint import load_checkpoint, resolve_checkpoint
from gm_common.errors import CheckpointError, ConfigError
from gm_common.files import atomic_path, atomic_write_text

FORMAT = "gm-pretrained/1"


def list_pretrained(root: Path) -> dict[str, dict]:
    """The shipped models under ``root``: name -> card (every folder holding a ``card.json``)."""
    if not root.is_dir():
        return {}
    return {
        d.name: json.loads((d / "card.json").read_text()) for d in sorted(root.iterdir()) if (d / "card.json").is_file()
    }


def print_pretrained(root: Path) -> dict[str, dict]:
    """Print the shipped models under ``root``, a line each (name and the card's ``summary``); returns them."""
    cards = list_pretrained(root)
    for name, card in cards.items():
        print(f"{name:<18} {card.get('summary', '')}")
    if not cards:
        print(f"no shipped models in {root}")
    return cards


def pretrained_dir(root: Path, name: str) -> Path:
    """The folder of the shipped model ``name``; a :class:`ConfigError` listing the shipped names otherwise."""
    if not (root / name / "card.json").is_file():
        raise ConfigError(f"unknown pretrained model {name!r}; shipped: {', '.join(list_pretrained(root)) or 'none'}")
    return root / name


def resolve(root: Path, name_or_path: str | Path, part: str = "model") -> Path:
    """A shipped model's ``<part>.safetensors`` by name, else a user's checkpoint file or run folder by path."""
    text = str(name_or_path)
    if "/" not in text and "\\" not in text and not Path(text).suffix and not Path(text).exists():
        return pretrained_dir(root, text) / f"{part}.safetensors"
    return resolve_checkpoint(text)


def save_safetensors(
    path: str | Path, state_dict: dict[str, torch.Tensor], hyper_parameters: dict, half: bool = True
) -> Path:
    """Write weights (floating tensors as fp16 when ``half``) and their hyper-parameters, atomically."""
    from safetensors.torch import save

    tensors = {
        k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
        for k, v in state_dict.items()
    }
    data = save(tensors, metadata={"format": FORMAT, "hyper_parameters": json.dumps(hyper_parameters)})
    with atomic_path(path) as tmp:  # written here as bytes: safetensors' save_file swaps in a file of mode 0600
        tmp.write_bytes(data)
    return Path(path)


def load_safetensors(path: str | Path) -> dict[str, Any]:
    """Read a shipped ``.safetensors`` file as ``{"hyper_parameters", "state_dict"}`` (floats as fp32)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
        hp = json.loads(meta["hyper_parameters"])
    except Exception as err:  # safetensors raises its own error types for truncated or damaged files
        raise CheckpointError(f"cannot load {path}: damaged, or not a shipped model file ({err})") from err
    return {
        "hyper_parameters": hp,
        "state_dict": {k: v.float() if v.is_floating_point() else v for k, v in state.items()},
    }


def export_checkpoint(
    ckpt_path: str | Path, out: str | Path, prefix: str = "", hyper_parameters: dict | None = None, half: bool = True
) -> Path:
    """Ship a training checkpoint: its weights under ``prefix`` (kept as they are named there, optimizer state
    dropped) and its hyper-parameters (or ``hyper_parameters``) as one ``.safetensors`` file."""
    ckpt = load_checkpoint(ckpt_path)
    state = {k: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    if not state:
        raise CheckpointError(f"{ckpt_path}: no weights under {prefix!r}")
    return save_safetensors(
        out, state, hyper_parameters if hyper_parameters is not None else ckpt["hyper_parameters"], half
    )


def write_card(folder: str | Path, card: dict) -> Path:
    """Write a shipped model's ``card.json`` (atomically)."""
    return atomic_write_text(Path(folder) / "card.json", json.dumps(card, indent=1) + "\n")
