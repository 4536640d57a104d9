"""A trained arranger (learned net or baseline): loaded from a shipped model or a checkpoint, it gives a part
to every note of a full-length piece (no truncation) and arranges whole pieces.

    from arranger import Arranger
    music = Arranger.from_pretrained("bach_bilstm").arrange("song.mid")   # a muspy.Music; nothing written
    arranger = Arranger.from_pretrained("bach_bilstm", device="cuda", precision="bf16-mixed")  # net on the GPU

The net runs on ``device`` (default the CPU); features go there and predictions come back as NumPy arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import muspy
import numpy as np
import torch

from arranger.baselines import BASELINES, Baseline
from arranger.models import build_net
from arranger.representation import RESOLUTION, collate, decode, encode, make_features
from gm_common import pretrained
from gm_common.checkpoint import load_checkpoint, model_from_checkpoint
from gm_common.device import inference_options
from gm_common.errors import CheckpointError, ConfigError, InputFileError
from gm_common.notes import read_music

PRETRAINED = Path(__file__).parent / "pretrained"
ONLINE = ("lstm", "transformer_dec", "mlp", "most_common", "zone", "closest_pitch", "closest_pitch_mono")
HINT_FLAGS = ("use_entry", "use_pitch_hint")
WEIGHTS = ("ema_net.module.", "net.")  # where a checkpoint keeps the net: the moving average first


class Arranger:
    """A net or a baseline with its model config and dataset (name, part labels, programs); the net runs on
    ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``), under autocast when ``precision`` is mixed on CUDA."""

    def __init__(
        self,
        model_cfg: dict,
        dataset: dict,
        net: torch.nn.Module | None = None,
        baseline: Baseline | None = None,
        device: str | torch.device = "cpu",
        precision: str = "32-true",
    ):
        self.device, self.autocast = inference_options(device, precision)
        self.model_cfg, self.dataset = dict(model_cfg), dict(dataset)
        self.kind = self.model_cfg["kind"]
        self.name = self.model_cfg.get("name", self.kind)
        self.n_parts = len(self.dataset["labels"])
        self.net, self.baseline = net, baseline
        if self.net is not None:
            self.net.to(self.device).eval()

    @property
    def needs_hints(self) -> bool:
        """Whether predictions need the input's parts (entry/pitch hints, hint baselines)."""
        if self.baseline is not None:
            return self.kind not in ("most_common", "zone")
        return any(self.model_cfg.get(f) for f in HINT_FLAGS)

    @property
    def online(self) -> bool:
        """Whether a note's part depends on the past notes only."""
        return self.kind in ONLINE

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        expect_dataset: str | None = None,
        device: str | torch.device = "cpu",
        precision: str = "32-true",
    ) -> Arranger:
        """Load a training checkpoint (``.ckpt``) or a shipped ``.safetensors`` file onto ``device``; with
        ``expect_dataset``, a checkpoint for another dataset is an error."""
        inference_options(device, precision)  # a GPU that is not there is an error before anything loads
        ckpt = load_checkpoint(path)
        hp = ckpt.get("hyper_parameters") or {}
        if "model" not in hp or "dataset" not in hp:
            raise CheckpointError(f"{path}: not an arranger checkpoint (no model/dataset hyper-parameters)")
        dataset = hp["dataset"]
        if expect_dataset is not None and dataset["name"] != expect_dataset:
            raise CheckpointError(
                f"{path}: checkpoint was trained on dataset {dataset['name']!r} ({', '.join(dataset['labels'])}), "
                f"not {expect_dataset!r}"
            )
        n_parts = len(dataset["labels"])
        if hp["model"]["kind"] in BASELINES:
            baseline = Baseline(hp["model"]["kind"], n_parts, ckpt["baseline_state"])
            return cls(hp["model"], dataset, baseline=baseline, device=device, precision=precision)
        net, _ = model_from_checkpoint(
            ckpt,
            path,
            lambda h: build_net(h["model"], n_parts),
            "arranger",
            needs=("model", "dataset"),
            prefixes=WEIGHTS,
        )
        return cls(hp["model"], dataset, net=net, device=device, precision=precision)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path = "bach_bilstm",
        root: Path | None = None,
        expect_dataset: str | None = None,
        device: str | torch.device = "cpu",
        precision: str = "32-true",
    ) -> Arranger:
        """A shipped model by name (``<root>/<name>/model.safetensors``, ``root`` by default ``PRETRAINED``), or a
        checkpoint file or run folder by path, on ``device``; an unknown name is a ConfigError listing the
        shipped ones."""
        path = pretrained.resolve(Path(root or PRETRAINED), name_or_path)
        return cls.from_checkpoint(path, expect_dataset, device, precision)

    @torch.inference_mode()
    def logits(self, notes: np.ndarray, hint_labels: np.ndarray | None = None) -> np.ndarray:
        """(N, n_parts) logits of the net (on the CPU) for notes (time, pitch, duration) in model order."""
        feats = make_features(np.asarray(notes)[:, :3], self.n_parts, hints_from=hint_labels)
        batch = {k: v.to(self.device) for k, v in collate([feats]).items()}
        with torch.autocast(self.device.type, dtype=self.autocast, enabled=self.autocast is not None):
            logits = self.net(batch)[0]
        return logits.float().cpu().numpy()

    def predict(self, notes: np.ndarray, hint_labels: np.ndarray | None = None) -> np.ndarray:
        """Part index of each note; notes (N, >=3) columns time, pitch, duration, sorted by time.
        ``hint_labels`` (the true or given parts) feed entry/pitch hints and hint-based baselines."""
        notes = np.asarray(notes, np.int64)
        if len(notes) == 0:
            return np.zeros(0, np.int64)
        if self.needs_hints and hint_labels is None:
            raise ValueError(f"model {self.name} needs part hints: give the input's parts as tracks")
        if self.baseline is not None:
            return self.baseline.predict(notes[:, :3], hint_labels)
        return self.logits(notes, hint_labels).argmax(-1).astype(np.int64)

    def part_programs(self, programs: Sequence[int] | None = None) -> list[int]:
        """The General MIDI program of each part: the dataset's, or ``programs`` checked (one per part, 0..127)."""
        programs = [int(p) for p in (self.dataset["programs"] if programs is None else programs)]
        if len(programs) != self.n_parts:
            raise ConfigError(
                f"programs has {len(programs)} entries; the model has {self.n_parts} parts "
                f"({', '.join(self.dataset['labels'])})"
            )
        if any(not 0 <= p <= 127 for p in programs):
            raise ConfigError(f"programs must be in 0..127, got {programs}")
        return programs

    def arrange(
        self,
        path_or_music: str | Path | muspy.Music,
        programs: Sequence[int] | None = None,
        use_input_parts: bool = False,
    ) -> muspy.Music:
        """Arrange a piece (a MIDI/MusicXML/ABC file or a ``muspy.Music``): all its pitched notes, one track per
        part with the dataset's programs (or ``programs``), drums passed through. Writes nothing.

        Hint models (and ``use_input_parts``) take the input's tracks, in order, as the given parts."""
        programs = self.part_programs(programs)
        if isinstance(path_or_music, muspy.Music):
            source, music = "input", path_or_music.deepcopy()
            music.adjust_resolution(RESOLUTION)
        else:
            source, music = path_or_music, read_music(path_or_music, resolution=RESOLUTION, allow_drums_only=True)
        enc = encode(music)
        if len(enc.notes) == 0:
            raise InputFileError(source, "contains only drum notes: nothing to arrange")
        hints = None
        if use_input_parts or self.needs_hints:
            if enc.parts.max() >= self.n_parts:
                raise InputFileError(
                    source, f"has {enc.parts.max() + 1} pitched parts but the model knows only {self.n_parts}"
                )
            hints = enc.parts
        parts = self.predict(enc.notes[:, :3], hint_labels=hints)
        return decode(enc.notes, parts, self.dataset, programs, enc.drums, enc.qpm, enc.time_signatures)
