import subprocess
import sys
import textwrap

import pytest

from gm_common.cli import compose, positional_override

APP = textwrap.dedent('''
    import sys
    from pathlib import Path
    import gm_common.cli as cli
    from gm_common.errors import ConfigError
    cli.CONFIG_ROOT = Path(sys.argv.pop(1))

    def run(cfg):
        """A toy app."""
        if cfg.fail:
            raise ConfigError("bad value")
        if cfg.build:  # a ToolkitError raised while hydra.utils.instantiate builds an object
            from hydra.utils import instantiate
            instantiate({"_target_": "gm_common.device.resolve_device", "spec": "tpu"})
        if cfg.nested:  # a run composed and started inside the app (as the demos do) writes where it is told
            inner = cli.compose("toy", "app", [f"run_dir={cfg.nested}", f"input=inner-{cfg.input}"])
            run(inner)
        Path(cli.run_dir(cfg), "out.txt").write_text(str(cfg.input))
        if cfg.out_dir:
            Path(cfg.out_dir).mkdir(parents=True, exist_ok=True)
            Path(cfg.out_dir, "result.txt").write_text("done")

    main = cli.entry_point("toy", "app", positional="input")(run)
    main()
''')
CONFIG = textwrap.dedent("""
    input: null
    fail: false
    build: false
    nested: null
    out_dir: null
    run_dir: ???
    hydra:
      run:
        dir: ${run_dir}
      job:
        chdir: false
""")


@pytest.fixture
def app(tmp_path):
    (tmp_path / "configs" / "toy").mkdir(parents=True)
    (tmp_path / "configs" / "toy" / "app.yaml").write_text(CONFIG)
    (tmp_path / "app.py").write_text(APP)

    def call(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, str(tmp_path / "app.py"), str(tmp_path / "configs"), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    return call


def test_entry_point_runs_with_a_positional_argument(app, tmp_path):
    proc = app("song one.mid", f"run_dir={tmp_path / 'ok'}")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ok" / "out.txt").read_text() == "song one.mid"


def test_a_run_composed_inside_an_app_writes_to_its_own_folder(app, tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    proc = app("x.mid", f"run_dir={tmp_path / 'outer'}", f"nested={inner}")
    assert proc.returncode == 0, proc.stderr
    assert (inner / "out.txt").read_text() == "inner-x.mid" and (tmp_path / "outer" / "out.txt").read_text() == "x.mid"


def test_a_failed_run_prints_one_line_and_leaves_no_folder(app, tmp_path):
    proc = app("fail=true", f"run_dir={tmp_path / 'failed'}")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: bad value"
    assert not (tmp_path / "failed").exists()


def test_an_error_while_instantiating_is_one_line_too(app, tmp_path):
    proc = app("build=true", f"run_dir={tmp_path / 'failed'}")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: device='tpu': expected auto, cpu, cuda or cuda:N"


def test_a_failed_resume_keeps_the_existing_run(app, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_text("weights")
    proc = app("fail=true", f"run_dir={run}")
    assert proc.returncode == 2
    assert (run / "checkpoints" / "last.ckpt").read_text() == "weights"


def test_a_failed_run_in_the_working_folder_keeps_it(app, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    cmd = [sys.executable, str(tmp_path / "app.py"), str(tmp_path / "configs"), "fail=true", "run_dir=."]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=work)
    assert proc.returncode == 2 and work.is_dir()


@pytest.mark.parametrize("key", ["out_dir", "run_dir"])  # run_dir is Hydra's run folder (made before the app)
def test_an_output_folder_that_cannot_be_made_is_one_line_before_anything_runs(app, tmp_path, key):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    others = {"out_dir": f"out_dir={tmp_path / 'out'}", "run_dir": f"run_dir={tmp_path / 'run'}"}
    others[key] = f"{key}={blocker / 'out'}"
    proc = app("x.mid", *others.values())
    assert proc.returncode == 2
    assert proc.stderr == f"error: cannot create the output folder {blocker / 'out'}: {blocker} is a file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "app.py", "configs"]  # the app never ran


def test_the_log_is_named_after_the_config(app, tmp_path):
    assert app("x.mid", f"run_dir={tmp_path / 'ok'}").returncode == 0
    assert (tmp_path / "ok" / "app.log").is_file()


def test_an_unknown_key_is_an_error(app, tmp_path):
    proc = app("no_such_key=1", f"run_dir={tmp_path / 'x'}")
    assert proc.returncode != 0 and "no_such_key" in proc.stderr
    assert not (tmp_path / "x").exists()


def test_positional_override_quotes_and_leaves_key_values():
    assert positional_override(["it's.mid", "a=1"], "input") == ["input='it\\'s.mid'", "a=1"]
    assert positional_override(["a=1"], "input") == ["a=1"]
    assert positional_override(["--help"], "input") == ["--help"]


def test_compose_reads_a_toolkit_config_with_overrides():
    cfg = compose("mmt", "train", ["model=paper", "seed=3"])
    assert cfg.model.dim == 512 and cfg.seed == 3
