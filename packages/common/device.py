"""The ``device=`` option of every generation, inference and evaluation entry point."""

from __future__ import annotations

import re

import torch

from gm_common.errors import ConfigError


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N`` as a torch device; a
    :class:`ConfigError` for an unknown name or a GPU that is not there."""
    text = str(spec).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", text)
    if not match:
        raise ConfigError(f"device={spec!r}: expected auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise ConfigError(f"device={spec} asks for a GPU, but torch sees none here; use device=cpu or auto")
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise ConfigError(f"device={spec}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return torch.device("cuda", index)


PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")  # the trainer precisions that apply to inference and sampling


def autocast_dtype(device: torch.device, precision: str = "32-true") -> torch.dtype | None:
    """The autocast dtype a trainer ``precision`` asks for on ``device`` (None: full precision; mixed precision
    applies on CUDA only); a :class:`ConfigError` for another precision name."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision={precision!r}: expected one of {', '.join(PRECISIONS)}")
    if device.type != "cuda" or not precision.endswith("-mixed"):
        return None
    return torch.bfloat16 if precision.startswith("bf16") else torch.float16


def inference_options(
    device: str | torch.device, precision: str = "32-true"
) -> tuple[torch.device, torch.dtype | None]:
    """The torch device and autocast dtype of the ``device=`` and ``precision=`` options (checked together)."""
    dev = resolve_device(device)
    return dev, autocast_dtype(dev, precision)
