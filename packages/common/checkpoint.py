"""Safe checkpoint loading: ``torch.load(..., weights_only=True)`` only, never arbitrary unpickling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gm_common.errors import CheckpointError


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a Lightning/torch checkpoint with ``weights_only=True``; a clear error if missing or unsafe."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise CheckpointError(f"cannot load checkpoint {path} (corrupt, or holds non-weight objects): {err}") from err


def load_weights(module: torch.nn.Module, state_dict: dict[str, Any], path: str | Path, prefix: str = "", what: str = "model") -> None:
    """Load ``state_dict`` (the keys under ``prefix``, with it stripped) into ``module``; a clear
    :class:`CheckpointError` naming ``path`` when the weights do not fit (another size or architecture)."""
    if prefix:
        state_dict = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
    try:
        module.load_state_dict(state_dict)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not match the {what} config: {str(err)[:300]}") from err


def resolve_resume(ckpt_path: str | Path | None, run_dir: str | Path) -> str | None:
    """Map ``ckpt_path`` to a file to resume from: None -> fresh run; ``last`` -> the run's last.ckpt if
    any (fresh run otherwise); a path -> that file, which must exist."""
    if ckpt_path in (None, "", "null"):
        return None
    if str(ckpt_path) == "last":
        last = Path(run_dir) / "checkpoints" / "last.ckpt"
        return str(last) if last.is_file() else None
    if not Path(ckpt_path).is_file():
        raise CheckpointError(f"checkpoint to resume from not found: {ckpt_path}")
    return str(ckpt_path)
