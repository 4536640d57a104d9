import pytest

from gm_common.cli import compose


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    from arranger.demo import run

    overrides = ["minutes=0.25", f"out_dir={tmp_path / 'demo'}"]
    paths = run(compose("arranger", "demo", overrides))
    assert paths["midi"].is_file() and paths["png"].is_file() and paths["mixture"].is_file()
    assert (tmp_path / "demo" / "model" / "checkpoints" / "best.ckpt").is_file()
    # a second run reuses the model
    assert run(compose("arranger", "demo", overrides))["midi"].is_file()
