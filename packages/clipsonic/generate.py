"""Text (or image) to audio with the trained models, in the paper's three modes:

- ``zs`` (zero-shot): the CLIP text embedding of the prompt conditions the diffusion model directly;
- ``pd`` (prior): the diffusion prior maps the text embedding to an image embedding first;
- ``iq`` (image query): the CLIP image embedding of ``image=frame.png`` (as in training).

    python -m clipsonic.generate "a red circle" [mode=zs|pd|iq] [guidance=3] [steps=50] [n=4] [sampler=ddim|dpm|ddpm]
    python -m clipsonic.generate mode=iq image=frame.png     (or video=clip.mp4: its middle frame)
    python -m clipsonic.generate "a red circle" vocoder=outputs/clipsonic/vocoder/checkpoints/last.ckpt

Writes ``<out_dir>/<name>_<mode>_<i>.wav`` and ``.png`` (mel spectrogram); never overwrites unless
``overwrite=true``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from gm_common.errors import ConfigError, InputFileError

from clipsonic._cli import cli, compose
from gm_common.cli import positional_override

MODES = ("zs", "pd", "iq")


def prompt_to_override(argv: list[str]) -> list[str]:
    """A first argument that is not ``key=value`` is the prompt: turn it into a ``prompt=`` override."""
    return positional_override(argv, "prompt")


def query_embeddings(mode: str, clip, prompts: list[str] | None = None, images: np.ndarray | None = None, prior=None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """CLIP conditions [B, D] for a mode: text embeddings (zs), prior(text) (pd) or image embeddings (iq)."""
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if mode == "iq":
        if images is None or len(images) == 0:
            raise ConfigError("mode=iq needs an image (image=frame.png)")
        return torch.from_numpy(clip.embed_images(images))
    if not prompts:
        raise ConfigError("empty text prompt: give a non-empty description, e.g. \"a red circle\"")
    text = torch.from_numpy(clip.embed_texts(prompts))
    if mode == "zs":
        return text
    if prior is None:
        raise ConfigError("mode=pd needs a trained prior (prior_ckpt=...)")
    return prior.sample(text, generator=generator)


def slug(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return s[:limit] or "query"


@cli
def run(cfg: DictConfig) -> list[Path]:
    from gm_common.audio import save_wav
    from gm_common.files import check_writable
    from gm_common.plots import plot_mel
    from gm_common.seed import seed_everything

    from clipsonic.clip import load_clip
    from clipsonic.data.video import load_image, read_video
    from clipsonic.diffusion import SAMPLERS, load_diffusion
    from clipsonic.prior import load_prior
    from clipsonic.vocoder import check_vocoder, vocode

    # ---- validate everything before writing anything
    mode = str(cfg.mode).lower()
    if mode not in MODES:
        raise ConfigError(f"unknown mode {cfg.mode!r}; choose one of {', '.join(MODES)}")
    if cfg.sampler not in SAMPLERS:
        raise ConfigError(f"unknown sampler {cfg.sampler!r}; choose one of {', '.join(SAMPLERS)}")
    if int(cfg.n) < 1 or int(cfg.steps) < 1:
        raise ConfigError("n and steps must be >= 1")
    prompt = None if cfg.prompt is None else str(cfg.prompt)
    image = None
    if mode == "iq":
        if cfg.image:
            image = load_image(cfg.image)
        elif cfg.get("video"):
            image = read_video(cfg.video, n_frames=1, require_audio=False)[0][0]
        else:
            raise ConfigError("mode=iq needs an image or a video: image=frame.png or video=clip.mp4")
    elif prompt is None or not prompt.strip():
        raise ConfigError("empty text prompt: give a non-empty description, e.g. python -m clipsonic.generate \"a red circle\"")
    check_vocoder(str(cfg.vocoder))
    clip = load_clip(cfg.clip)
    model = load_diffusion(cfg.diffusion_ckpt, expect_cond_dim=clip.embed_dim)
    check_vocoder(str(cfg.vocoder), dict(model.hparams.mel))  # mel settings of a neural vocoder must match
    prior = load_prior(cfg.prior_ckpt, expect_dim=clip.embed_dim) if mode == "pd" else None
    query_file = Path(cfg.image or cfg.get("video") or "query") if mode == "iq" else None
    stem = cfg.name or (query_file.stem if query_file else slug(prompt))
    out_dir = Path(cfg.out_dir)
    outs = [(out_dir / f"{stem}_{mode}_{i}.wav", out_dir / f"{stem}_{mode}_{i}.png") for i in range(int(cfg.n))]
    for wav, png in outs:
        check_writable(wav, cfg.overwrite)
        check_writable(png, cfg.overwrite)

    # ---- generate
    seed_everything(int(cfg.seed))
    g = torch.Generator().manual_seed(int(cfg.seed))
    n = int(cfg.n)
    cond = query_embeddings(mode, clip, [prompt] * n if prompt else None, None if image is None else np.repeat(image[None], n, 0), prior, g)
    mels = model.to_log_mel(model.sample(cond, cfg.sampler, int(cfg.steps), float(cfg.guidance), g)).numpy()
    mel = model.hparams.mel
    written = []
    for (wav, png), log_mel in zip(outs, mels):
        audio = vocode(log_mel, mel, str(cfg.vocoder))
        save_wav(wav, audio, int(mel["sample_rate"]), overwrite=cfg.overwrite)
        title = f"{mode}: {prompt if query_file is None else query_file.name} (guidance {cfg.guidance}, {cfg.sampler} {cfg.steps})"
        plot_mel(log_mel, png, sample_rate=int(mel["sample_rate"]), hop_length=int(mel["hop_length"]), title=title, overwrite=cfg.overwrite)
        written += [wav, png]
    for p in written:
        print(p)
    return written


def main(argv: list[str] | None = None) -> None:
    argv = prompt_to_override(list(sys.argv[1:] if argv is None else argv))
    cli(lambda: run(compose("generate", argv)))()


if __name__ == "__main__":
    main()
