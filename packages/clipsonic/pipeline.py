"""Text (or image) to audio with trained models, as a Python object, in the paper's three modes:

- ``zs`` (zero-shot): the CLIP text embedding of the prompt conditions the diffusion model directly;
- ``pd`` (prior): the diffusion prior maps the text embedding to an image embedding first;
- ``iq`` (image query): the CLIP image embedding of an image (as in training).

    pipe = ClipSonicPipeline.from_pretrained("everyday")        # the shipped models (list_models()); device="cuda"
    out = pipe("dog barking", mode="pd", n=2, guidance=3, steps=25, seed=0)
    out.audio, out.log_mels, out.sample_rate                     # numpy; nothing is written

A model set is a shipped name (``packages/clipsonic/pretrained/<name>/{clip,prior,diffusion,vocoder}.safetensors``)
or a folder trained with ``root=<folder>`` (``clip/clip.pt``, ``<part>/checkpoints/last.ckpt``); each part can
also be given by path, and the CLIP by a ``clip/*.yaml`` config (e.g. a transformers folder).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from clipsonic.clip import Clip, load_clip
from clipsonic.diffusion import MelDiffusion, load_diffusion
from clipsonic.prior import DiffusionPrior, load_prior
from clipsonic.sampling import SAMPLERS
from clipsonic.vocoder import GRIFFIN_LIM, check_vocoder, vocode_batch
from gm_common import pretrained
from gm_common.device import inference_options
from gm_common.errors import CheckpointError, ConfigError

PRETRAINED = Path(__file__).parent / "pretrained"
MODES = ("zs", "pd", "iq")
RUN_FILES = {
    "clip": "clip/clip.pt",
    "prior": "prior/checkpoints/last.ckpt",
    "diffusion": "diffusion/checkpoints/last.ckpt",
    "vocoder": "vocoder/checkpoints/last.ckpt",
}


def list_models(root: str | Path = PRETRAINED) -> dict[str, dict]:
    """The shipped model sets under ``root``: name -> model card."""
    return pretrained.list_pretrained(Path(root))


def resolve_part(models: str | Path, part: str, root: str | Path = PRETRAINED) -> Path:
    """The file of one ``part`` (clip, prior, diffusion, vocoder) of ``models``: a shipped name, a folder trained
    with ``root=<folder>``, or that part's own checkpoint file or run folder."""
    folder = Path(str(models))
    if folder.is_dir() and (folder / RUN_FILES[part]).is_file():
        return folder / RUN_FILES[part]
    return pretrained.resolve(Path(root), models, part)


def check_mode(mode: str) -> str:
    """``mode`` in lower case; a :class:`ConfigError` naming the modes otherwise."""
    if str(mode).lower() not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    return str(mode).lower()


def mode_conditions(
    mode: str,
    text: torch.Tensor | None = None,
    image: torch.Tensor | None = None,
    prior: DiffusionPrior | None = None,
    generator: torch.Generator | None = None,
    prior_candidates: int = 1,
) -> torch.Tensor:
    """The CLIP conditions [B, D] of a mode, from CLIP embeddings of the queries: the text embeddings (zs), a
    prior sample for each (pd: the most text-like of ``prior_candidates`` draws), or the image embeddings (iq).
    The one place the three modes are defined."""
    mode = check_mode(mode)
    if mode == "iq":
        if image is None or len(image) == 0:
            raise ConfigError("mode=iq needs an image (image=frame.png or video=clip.mp4)")
        return image
    if text is None or len(text) == 0:
        raise ConfigError('empty text prompt: give a non-empty description, e.g. "a red circle"')
    if mode == "zs":
        return text
    if prior is None:
        raise ConfigError("mode=pd needs a trained prior (prior_ckpt=...)")
    if int(prior_candidates) < 1:
        raise ConfigError(f"prior_candidates must be >= 1, got {prior_candidates}")
    return prior.sample(text, generator=generator, candidates=int(prior_candidates))


@dataclass
class Generation:
    """What the pipeline returns: waveforms [n, samples], their log-mels [n, n_mels, frames], the CLIP
    conditions the diffusion model got [n, D], and the sample rate."""

    audio: np.ndarray
    log_mels: np.ndarray
    conditions: np.ndarray
    sample_rate: int


class ClipSonicPipeline:
    """CLIP + (prior) + mel diffusion + vocoder: a text prompt or an image in, audio out. The models run on
    ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``), under autocast when ``precision`` is mixed on CUDA; the
    vocoder and what is returned stay on the CPU."""

    def __init__(
        self,
        clip: Clip,
        diffusion: MelDiffusion,
        prior: DiffusionPrior | None = None,
        vocoder: str = GRIFFIN_LIM,
        device: str | torch.device = "cpu",
        precision: str = "32-true",
    ):
        if int(diffusion.hparams.cond_dim) != clip.embed_dim:
            raise CheckpointError(
                f"CLIP embedding size {clip.embed_dim} does not match the diffusion model "
                f"(trained with {diffusion.hparams.cond_dim}); use the CLIP it was trained with"
            )
        if prior is not None and int(prior.hparams.dim) != clip.embed_dim:
            raise CheckpointError(
                f"CLIP embedding size {clip.embed_dim} does not match the prior (trained with {prior.hparams.dim})"
            )
        check_vocoder(str(vocoder), dict(diffusion.hparams.mel))
        self.device, self.autocast_dtype = inference_options(device, precision)
        self.clip, self.diffusion, self.prior, self.vocoder = clip.to(self.device), diffusion, prior, str(vocoder)
        for model in (diffusion, prior):
            if model is not None:
                model.to(self.device)

    @classmethod
    def from_pretrained(
        cls,
        models: str | Path = "everyday",
        root: str | Path = PRETRAINED,
        *,
        clip: str | Path | dict | None = None,
        prior: str | Path | None = None,
        diffusion: str | Path | None = None,
        vocoder: str | Path = GRIFFIN_LIM,
        with_prior: bool = True,
        device: str | torch.device = "cpu",
        precision: str = "32-true",
    ) -> ClipSonicPipeline:
        """Load a model set by name (shipped under ``root``) or trained folder onto ``device``;
        ``clip``/``prior``/``diffusion`` replace one part (a name, a path, or for ``clip`` a ``clip/*.yaml`` config
        dict: open_clip's ``name``, ``model_kwargs``, ``checkpoint``, or ``library: transformers`` and ``path``).
        ``vocoder`` is ``griffinlim``, a name or a path. ``with_prior=False`` skips the prior (for the zs and iq
        modes)."""
        device = inference_options(device, precision)[0]  # errors before anything loads
        clip_cfg = dict(clip) if isinstance(clip, dict) else {"checkpoint": models if clip is None else clip}
        if clip_cfg.get("library") != "transformers":
            clip_cfg["checkpoint"] = str(resolve_part(clip_cfg["checkpoint"], "clip", root))
        parts = {"diffusion": models if diffusion is None else diffusion, "prior": models if prior is None else prior}
        vocoder_file = GRIFFIN_LIM if str(vocoder) == GRIFFIN_LIM else str(resolve_part(vocoder, "vocoder", root))
        return cls(
            load_clip(clip_cfg),
            load_diffusion(resolve_part(parts["diffusion"], "diffusion", root)),
            load_prior(resolve_part(parts["prior"], "prior", root)) if with_prior else None,
            vocoder_file,
            device,
            precision,
        )

    def autocast(self) -> AbstractContextManager:
        """The autocast context the models run under (a no-op at full precision and on the CPU)."""
        return torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None)

    @property
    def mel(self) -> dict:
        """The mel settings of the diffusion model (sample rate, FFT, hop, mels, frames)."""
        return dict(self.diffusion.hparams.mel)

    def conditions(
        self,
        mode: str,
        prompts: list[str] | None = None,
        images: np.ndarray | None = None,
        generator: torch.Generator | None = None,
        prior_candidates: int = 1,
    ) -> torch.Tensor:
        """The CLIP conditions [N, D] of text prompts (zs, pd) or uint8 images [N, H, W, 3] (iq), on ``device``."""
        with self.autocast():
            text = None if not prompts else torch.from_numpy(self.clip.embed_texts(prompts)).to(self.device)
            image = None if images is None or len(images) == 0 else self.clip.embed_images(images)
            image = None if image is None else torch.from_numpy(image).to(self.device)
            return mode_conditions(mode, text, image, self.prior, generator, prior_candidates)

    def log_mels(
        self, cond: torch.Tensor, sampler: str, steps: int, guidance: float, generator: torch.Generator | None = None
    ) -> np.ndarray:
        """Generated log-mels [B, n_mels, frames] (NumPy) for CLIP conditions [B, D], sampled on ``device``."""
        with self.autocast():
            x = self.diffusion.sample(cond, sampler, steps, guidance, generator)
        return self.diffusion.to_log_mel(x.float()).cpu().numpy()

    def __call__(
        self,
        prompt: str | None = None,
        mode: str = "zs",
        image: np.ndarray | None = None,
        n: int = 1,
        guidance: float = 3.0,
        steps: int = 50,
        sampler: str = "ddim",
        seed: int = 0,
        prior_candidates: int = 1,
    ) -> Generation:
        """Generate ``n`` segments for ``prompt`` (zs, pd) or ``image`` (iq: uint8 [H, W, 3]); seeds the global
        random generators with ``seed`` (Griffin-Lim draws from NumPy's). PD keeps the most text-like of
        ``prior_candidates`` prior draws per segment."""
        from gm_common.seed import seed_everything

        if sampler not in SAMPLERS:
            raise ConfigError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
        if int(n) < 1 or int(steps) < 1:
            raise ConfigError("n and steps must be >= 1")
        if prompt is not None and not str(prompt).strip():
            raise ConfigError('empty text prompt: give a non-empty description, e.g. "a red circle"')
        seed_everything(int(seed))
        g = torch.Generator().manual_seed(int(seed))
        prompts = None if prompt is None else [str(prompt)] * int(n)
        images = None if image is None else np.repeat(np.asarray(image)[None], int(n), 0)
        cond = self.conditions(mode, prompts, images, g, prior_candidates)
        log_mels = self.log_mels(cond, sampler, int(steps), float(guidance), g)
        audio = vocode_batch(log_mels, self.mel, self.vocoder)
        return Generation(audio, log_mels, cond.float().cpu().numpy(), int(self.mel["sample_rate"]))
