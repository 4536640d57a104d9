import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from clipsonic.generate import run
from gm_common.cli import compose
from gm_common.errors import CheckpointError, ConfigError, InputFileError, ToolkitError


def _run(world, *extra):
    return run(compose("clipsonic", "generate", world.gen_overrides(*extra)))


@pytest.mark.parametrize("mode", ["zs", "pd"])
def test_text_modes_write_wav_and_png(world, tmp_path, mode):
    out = _run(world, "prompt=a red circle", f"mode={mode}", "n=2", f"out_dir={tmp_path}")
    assert [p.name for p in out] == [f"a_red_circle_{mode}_{i}.{ext}" for i in range(2) for ext in ("wav", "png")]
    audio, sr = sf.read(out[0])
    assert sr == 16000 and audio.size == 31 * 256 and np.isfinite(audio).all() and np.abs(audio).max() > 0
    with pytest.raises(ToolkitError, match="already exists"):
        _run(world, "prompt=a red circle", f"mode={mode}", "n=2", f"out_dir={tmp_path}")
    _run(world, "prompt=a red circle", f"mode={mode}", "n=2", f"out_dir={tmp_path}", "overwrite=true", "sampler=dpm")


def test_image_query(world, tmp_path):
    img = tmp_path / "frame.png"
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(img)
    out = _run(world, "mode=iq", f"image={img}", f"out_dir={tmp_path / 'o'}")
    assert [p.name for p in out] == ["frame_iq_0.wav", "frame_iq_0.png"]


def test_bad_inputs_write_nothing(world, tmp_path):
    out = tmp_path / "out"
    bad_img = tmp_path / "x.png"
    bad_img.write_text("no image")
    cases = [
        (ConfigError, ["prompt=", "mode=zs"]),
        (ConfigError, ["mode=zs"]),
        (InputFileError, ["mode=iq", f"image={bad_img}"]),
        (ConfigError, ["mode=iq"]),
        (CheckpointError, ["prompt=a red circle", f"diffusion_ckpt={tmp_path / 'none.ckpt'}"]),
        (CheckpointError, ["prompt=a red circle", "mode=pd", f"prior_ckpt={tmp_path / 'none.ckpt'}"]),
        (ConfigError, ["prompt=a red circle", "mode=xx"]),
        (ConfigError, ["prompt=a red circle", "sampler=euler"]),
    ]
    for err, extra in cases:
        with pytest.raises(err):
            _run(world, *extra, f"out_dir={out}")
    # a CLIP whose embedding size does not match the diffusion model
    from clipsonic.clip import build_clip_model, save_clip

    kw = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }
    other = save_clip(tmp_path / "other_clip.pt", build_clip_model("ViT-B-32", kw), "ViT-B-32", kw)
    with pytest.raises(CheckpointError, match="embedding size 16 does not match"):
        _run(world, "prompt=a red circle", f"clip.checkpoint={other}", f"out_dir={out}")
    assert not out.exists()


def test_cli_positional_prompt_and_one_error_line(world, tmp_path, monkeypatch, capsys):
    """``python -m clipsonic.generate "a red circle"`` works; an empty prompt is one line on stderr, exit 2."""
    from clipsonic.generate import main
    from tests.common.entry_points import run_main

    monkeypatch.chdir(tmp_path)
    args = ["a red circle", *world.gen_overrides(f"out_dir={tmp_path / 'ok'}")]
    status, _ = run_main(main, args, monkeypatch, capsys)
    assert status == 0
    assert sorted(p.name for p in (tmp_path / "ok").iterdir()) == ["a_red_circle_pd_0.png", "a_red_circle_pd_0.wav"]
    status, err = run_main(main, ["", *world.gen_overrides(f"out_dir={tmp_path / 'cli'}")], monkeypatch, capsys)
    assert status == 2 and err.count("\n") == 1
    assert err.startswith("error: empty text prompt: give a non-empty description")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok"]  # no outputs/, no log file


def test_video_query_and_bad_videos(world, tmp_path):
    from clipsonic.data.synthesize import write_video

    silent = write_video(tmp_path / "silent.mp4", [np.full((32, 32, 3), 90, np.uint8)] * 3, 4, None, 16000)
    out = _run(world, "mode=iq", f"video={silent}", f"out_dir={tmp_path / 'o'}")  # a query video needs no audio
    assert out[0].name == "silent_iq_0.wav"
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"corrupt" * 50)
    with pytest.raises(InputFileError):
        _run(world, "mode=iq", f"video={bad}", f"out_dir={tmp_path / 'o2'}")
    assert not (tmp_path / "o2").exists()


def test_an_output_folder_that_cannot_be_made_is_one_error_line(tmp_path, monkeypatch, capsys):
    from clipsonic.generate import main
    from tests.common.entry_points import run_main

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    status, err = run_main(main, ["dog barking", f"out_dir={blocker / 'out'}"], monkeypatch, capsys)
    assert (status, err) == (2, f"error: cannot create the output folder {blocker / 'out'}: {blocker} is a file\n")
    assert list(tmp_path.iterdir()) == [blocker]


def test_the_demo_root_that_cannot_be_made_is_one_error_line(tmp_path, monkeypatch, capsys):
    from clipsonic.demo import main as demo_main
    from tests.common.entry_points import run_main

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    status, err = run_main(demo_main, [f"root={blocker / 'demo'}"], monkeypatch, capsys)
    assert (status, err) == (2, f"error: cannot create the output folder {blocker / 'demo'}: {blocker} is a file\n")
    assert list(tmp_path.iterdir()) == [blocker]
