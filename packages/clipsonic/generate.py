"""Text (or image) to audio from the command line: a thin layer over :class:`clipsonic.pipeline.ClipSonicPipeline`.

    python -m clipsonic.generate "dog barking" [mode=pd|zs|iq] [guidance=3] [steps=50] [n=4] [sampler=ddim|dpm|ddpm]
    python -m clipsonic.generate mode=iq image=frame.png     (or video=clip.mp4: its middle frame)
    python -m clipsonic.generate "a red circle" models=synthetic vocoder=synthetic   (the coloured-shape world)
    python -m clipsonic.generate "a red circle" models=outputs/clipsonic              (models trained with root=)
    python -m clipsonic.generate list_models=true
    python -m clipsonic.generate "siren wailing" device=cuda precision=bf16-mixed   (device=auto: CUDA when present)

Uses the shipped models ``models=everyday`` in PD mode unless told otherwise (a shipped name, a folder trained with
``root=<folder>``, or one part by path: ``diffusion_ckpt=``, ``prior_ckpt=``, ``clip.checkpoint=``; a
transformers CLIP: ``clip=hf clip.path=<folder>``).
Writes ``<out_dir>/<name>_<mode>_<i>.wav`` and ``.png`` (mel spectrogram); never overwrites unless
``overwrite=true``; a run that fails writes nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from clipsonic.pipeline import PRETRAINED, ClipSonicPipeline, Generation, check_mode
from gm_common.cli import entry_point
from gm_common.errors import ConfigError
from gm_common.pretrained import print_pretrained


def slug(text: str, limit: int = 40) -> str:
    """A file-name stem from free text (lower case, ``_`` between words)."""
    s = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return s[:limit] or "query"


def read_query(cfg: DictConfig, mode: str) -> tuple[str | None, np.ndarray | None, str]:
    """The query of a run: (prompt, image, file stem); a clear error for a missing or unreadable one."""
    from clipsonic.data.video import load_image, read_video

    if mode == "iq":
        if cfg.image:
            return None, load_image(cfg.image), Path(cfg.image).stem
        if cfg.video:
            return None, read_video(cfg.video, n_frames=1, require_audio=False)[0][0], Path(cfg.video).stem
        raise ConfigError("mode=iq needs an image or a video: image=frame.png or video=clip.mp4")
    if cfg.prompt is None or not str(cfg.prompt).strip():
        raise ConfigError(
            'empty text prompt: give a non-empty description, e.g. python -m clipsonic.generate "a red circle"'
        )
    return str(cfg.prompt), None, slug(str(cfg.prompt))


def load_pipeline(cfg: DictConfig, with_prior: bool) -> ClipSonicPipeline:
    """The models a generate/evaluate config names (``models``, each part overridable by path), on its ``device``."""
    return ClipSonicPipeline.from_pretrained(
        cfg.models,
        cfg.pretrained_root or PRETRAINED,
        clip=OmegaConf.to_container(cfg.clip, resolve=True),
        prior=cfg.prior_ckpt,
        diffusion=cfg.diffusion_ckpt,
        vocoder=cfg.vocoder,
        with_prior=with_prior,
        device=cfg.device,
        precision=cfg.precision,
    )


def write_outputs(
    out: Generation, paths: list[tuple[Path, Path]], title: str, overwrite: bool, hop_length: int
) -> list[Path]:
    """Save each generated segment as a WAV and a mel-spectrogram PNG."""
    from gm_common.audio import save_wav
    from gm_common.plots import plot_mel

    written = []
    for (wav, png), audio, log_mel in zip(paths, out.audio, out.log_mels):
        save_wav(wav, audio, out.sample_rate, overwrite=overwrite)
        plot_mel(log_mel, png, sample_rate=out.sample_rate, hop_length=hop_length, title=title, overwrite=overwrite)
        written += [wav, png]
    return written


def run(cfg: DictConfig) -> list[Path]:
    """Generate ``n`` segments for the query and write them; returns the files written."""
    from gm_common.files import check_writable

    if cfg.list_models:
        print_pretrained(Path(cfg.pretrained_root or PRETRAINED))
        return []
    mode = check_mode(cfg.mode)
    prompt, image, stem = read_query(cfg, mode)
    pipe = load_pipeline(cfg, with_prior=mode == "pd")
    stem = cfg.name or stem
    paths = [
        (Path(cfg.out_dir) / f"{stem}_{mode}_{i}.wav", Path(cfg.out_dir) / f"{stem}_{mode}_{i}.png")
        for i in range(int(cfg.n))
    ]
    for wav, png in paths:
        check_writable(wav, cfg.overwrite)
        check_writable(png, cfg.overwrite)
    out = pipe(
        prompt,
        mode,
        image,
        int(cfg.n),
        float(cfg.guidance),
        int(cfg.steps),
        cfg.sampler,
        int(cfg.seed),
        int(cfg.prior_candidates),
    )
    query = prompt if image is None else f"{stem} (image)"
    title = f"{mode}: {query} (guidance {cfg.guidance}, {cfg.sampler} {cfg.steps})"
    written = write_outputs(out, paths, title, cfg.overwrite, int(pipe.mel["hop_length"]))
    for p in written:
        print(p)
    return written


main = entry_point("clipsonic", "generate", positional="prompt")(run)

if __name__ == "__main__":
    main()
