"""Safe checkpoint loading: ``torch.load(..., weights_only=True)`` or safetensors, never arbitrary unpickling.

A checkpoint is a dict with ``hyper_parameters`` (plain data) and ``state_dict``: a Lightning ``.ckpt`` file,
or a shipped ``.safetensors`` file whose metadata holds the hyper-parameters (``gm_common.pretrained``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from gm_common.errors import CheckpointError
from gm_common.files import OutputExistsError

log = logging.getLogger(__name__)
RUN_CHECKPOINTS = ("checkpoints/best.ckpt", "checkpoints/last.ckpt", "best.ckpt", "last.ckpt", "model.safetensors")


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a Lightning/torch checkpoint (``weights_only=True``) or a ``.safetensors`` file; a clear error if
    missing, damaged or unsafe."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        from gm_common.pretrained import load_safetensors

        return load_safetensors(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch's message advises weights_only=False, the unsafe load refused here: not passed on
        raise CheckpointError(
            f"cannot load checkpoint {path} safely: it is damaged or holds more than weights ({type(err).__name__})"
        ) from None


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run folder (its checkpoints/best.ckpt, else last.ckpt, else model.safetensors)."""
    path = Path(path)
    if path.is_dir():
        for name in RUN_CHECKPOINTS:
            if (path / name).is_file():
                return path / name
        raise CheckpointError(f"no checkpoint ({', '.join(RUN_CHECKPOINTS)}) in {path}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    return path


def load_weights(
    module: torch.nn.Module, state_dict: dict[str, Any], path: str | Path, prefix: str = "", what: str = "model"
) -> None:
    """Load ``state_dict`` (the keys under ``prefix``, with it stripped) into ``module``; a clear
    :class:`CheckpointError` naming ``path`` when the weights do not fit (another size or architecture)."""
    if prefix:
        state_dict = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
    try:
        module.load_state_dict(state_dict)
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not match the {what} config: {str(err)[:300]}") from err


def model_from_checkpoint(
    ckpt: dict[str, Any],
    path: str | Path,
    build: Callable[[dict], torch.nn.Module],
    kind: str,
    needs: Sequence[str] = (),
    prefixes: Sequence[str] = ("",),
) -> tuple[torch.nn.Module, dict]:
    """Check a loaded checkpoint's hyper-parameters (``needs``), build the model from them, load its weights
    (under the first of ``prefixes`` that the checkpoint has), and return it in eval mode with them."""
    hp = ckpt.get("hyper_parameters") or {}
    missing = [k for k in needs if k not in hp] + ([] if "state_dict" in ckpt else ["state_dict"])
    if missing:
        raise CheckpointError(f"{path} is not a {kind} checkpoint (it has no {', '.join(missing)})")
    module = build(hp)
    keys = ckpt["state_dict"].keys()
    prefix = next((p for p in prefixes if any(k.startswith(p) for k in keys)), prefixes[-1])
    load_weights(module, ckpt["state_dict"], path, prefix=prefix, what=kind)
    return module.eval(), hp


def load_model(
    path: str | Path,
    build: Callable[[dict], torch.nn.Module],
    kind: str,
    needs: Sequence[str] = (),
    prefixes: Sequence[str] = ("",),
) -> tuple[torch.nn.Module, dict]:
    """Load, check keys, build, load weights: a model and its hyper-parameters from a checkpoint file."""
    return model_from_checkpoint(load_checkpoint(path), path, build, kind, needs, prefixes)


def resolve_resume(ckpt_path: str | Path | None, run_dir: str | Path) -> str | None:
    """The file a run resumes from: None -> a fresh run, refused where ``run_dir`` holds an earlier run's
    checkpoints (never replaced unasked); ``last`` -> ``run_dir``'s last.ckpt, which must exist; ``auto`` ->
    last.ckpt if there is one, else a fresh run (preemptible jobs; logged either way); a path -> that file,
    which must exist. A checkpoint to resume from must load safely."""
    if ckpt_path in (None, "", "null"):
        earlier = sorted(p.name for p in (Path(run_dir) / "checkpoints").glob("*.ckpt"))
        if earlier:
            raise OutputExistsError(
                f"{Path(run_dir) / 'checkpoints'} holds an earlier run's checkpoints ({', '.join(earlier)}); resume "
                "it with ckpt_path=last (or auto), or train into another run_dir"
            )
        return None
    last = Path(run_dir) / "checkpoints" / "last.ckpt"
    if str(ckpt_path) in ("last", "auto"):
        if last.is_file():
            load_checkpoint(last)  # a damaged file is one clear error here, not a traceback from Lightning's load
            log.info("resuming from %s", last)
            print(f"resuming from {last}", flush=True)
            return str(last)
        if str(ckpt_path) == "auto":
            print(f"ckpt_path=auto: no {last} yet, starting a fresh run", flush=True)
            return None
        raise CheckpointError(
            f"ckpt_path=last: nothing to resume in {last.parent} (use ckpt_path=auto to start fresh "
            "when there is no checkpoint, and run_dir= to name the run folder)"
        )
    if not Path(ckpt_path).is_file():
        raise CheckpointError(f"checkpoint to resume from not found: {ckpt_path}")
    load_checkpoint(ckpt_path)
    return str(ckpt_path)
