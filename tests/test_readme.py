"""The README works as written: every ``python -m`` command in it composes its config (Hydra's
``--cfg job``: the keys and config groups it names exist), every entry point's ``--help`` lists its config
groups, and the README's short commands ("first hour") run for real from an empty folder."""

from __future__ import annotations

import contextlib
import io
import os
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PACKAGES = ("mmt", "arranger", "clipsonic")


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def readme_commands(text: str = README) -> list[list[str]]:
    """``[module, *args]`` of every ``python -m`` (or ``torchrun ... -m``) command in the README's bash
    blocks, placeholders filled in (``<pkg>``: each toolkit; ``<run>``: a run folder name)."""
    found: list[list[str]] = []
    for block in bash_blocks(text):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if "-m" not in words or not words or words[0] not in ("python", "torchrun", "srun"):
                    continue
                i = words.index("-m")
                cmd = [w.replace("<run>", "run") for w in words[i + 1 :]]
                if "<pkg>" in cmd[0]:
                    found += [[cmd[0].replace("<pkg>", p), *cmd[1:]] for p in PACKAGES]
                else:
                    found.append(cmd)
    unique = []
    for cmd in found:
        if cmd not in unique:
            unique.append(cmd)
    return unique


def run_in_process(module: str, args: list[str]) -> str:
    """Run ``python -m module args`` in this process (fast: no new interpreter); returns its stdout."""
    out = io.StringIO()
    argv = sys.argv
    sys.argv = [module, *args]
    try:
        with contextlib.redirect_stdout(out):
            try:
                runpy.run_module(module, run_name="__main__", alter_sys=True)
            except SystemExit as exit_:
                assert exit_.code in (0, None), f"python -m {module} {shlex.join(args)} exited with {exit_.code}"
    finally:
        sys.argv = argv
    return out.getvalue()


COMMANDS = readme_commands()
# runpy warns when an entry point's module was imported before (by an earlier command): harmless here
pytestmark = pytest.mark.filterwarnings("ignore:.*found in sys.modules after import of package")


def test_the_readme_names_every_entry_point():
    modules = {c[0] for c in COMMANDS}
    assert {"mmt.train", "mmt.generate", "mmt.evaluate", "arranger.train", "arranger.evaluate", "arranger.infer",
            "clipsonic.data.synthesize", "clipsonic.train_clip", "clipsonic.train_prior", "clipsonic.train",
            "clipsonic.generate", "clipsonic.evaluate", "arranger.live",
            "clipsonic.train_vocoder"} <= modules  # fmt: skip


def inline_commands(text: str) -> list[list[str]]:
    """``[module, *args]`` of the ``python -m`` commands quoted in a README's text (not its code blocks):
    optional ``[key=value]`` parts included, the first of ``a|b`` alternatives, ``<name>`` placeholders filled in,
    ``...`` left out."""
    found = []
    for quoted in re.findall(r"`python -m ([^`]+)`", text):
        words = re.sub(r"\[([^\[\]]*=[^\]]*(?:\[[^\]]*\])?[^\]]*)\]", r"\1", " ".join(quoted.split()))
        words = re.sub(r"<(\w+)>", r"\1", words)
        cmd = [w.split("|")[0] for w in shlex.split(words) if "..." not in w]
        if cmd not in found:
            found.append(cmd)
    return found


def other_readme_commands() -> list[list[str]]:
    """The commands of the package READMEs and those quoted in any README's text, beyond ``COMMANDS``."""
    found = []
    for readme in [ROOT / "README.md", *sorted(ROOT.glob("packages/*/README.md"))]:
        text = readme.read_text()
        for cmd in [*readme_commands(text), *inline_commands(text)]:
            if cmd not in found and cmd not in COMMANDS:
                found.append(cmd)
    return found


def is_app(module: str) -> bool:
    """Whether ``python -m module`` is a Hydra app made by ``gm_common.cli.entry_point``."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    assert spec is not None, f"python -m {module}: no such module"
    if spec.submodule_search_locations:  # a package runs its __main__
        spec = importlib.util.find_spec(f"{module}.__main__")
        assert spec is not None, f"python -m {module}: the package has no __main__"
    return spec.origin is not None and "entry_point(" in Path(spec.origin).read_text()


OTHER_COMMANDS = other_readme_commands()


@pytest.mark.parametrize("cmd", OTHER_COMMANDS, ids=[shlex.join(c)[:80] for c in OTHER_COMMANDS])
def test_every_other_readme_command_composes(cmd, tmp_path, monkeypatch):
    """Every other command a README gives composes (``pytest`` is run by ``make test``; a module that is no
    Hydra app, such as the studio's screenshot script, must exist)."""
    if cmd[0] == "pytest" or not is_app(cmd[0]):
        return
    test_readme_command_composes(cmd, tmp_path, monkeypatch)


@pytest.mark.parametrize("cmd", COMMANDS, ids=[shlex.join(c)[:80] for c in COMMANDS])
def test_readme_command_composes(cmd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written: --cfg job only composes
    args = [a for a in cmd[1:] if a not in ("-m", "--multirun")]  # Hydra prints no config of a multirun
    printed = run_in_process(cmd[0], [*args, "--cfg", "hydra" if "+launcher=slurm" in args else "job"])
    if "+launcher=slurm" in args:
        assert "SlurmLauncher" in printed and "nodes: 2" in printed
    assert printed.strip(), f"{shlex.join(cmd)}: no config printed"
    assert not any(tmp_path.iterdir()), f"{shlex.join(cmd)} wrote {list(tmp_path.iterdir())}"


@pytest.mark.parametrize("module", sorted({c[0] for c in COMMANDS}))
def test_help_lists_the_config_groups(module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = run_in_process(module, ["--help"])
    assert "== Configuration groups ==" in printed and "trainer:" in printed


def test_a_typo_in_a_config_group_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Exception, match="bach_tin"):
        run_in_process("mmt.train", ["experiment=bach_tin", "--cfg", "job"])


def first_hour_block(text: str = README) -> str:
    section = text.split("## The first hour", 1)[1]
    return bash_blocks(section)[0]


@pytest.mark.slow  # ~1 minute on 2 quiet cores (2.5 on a busy machine): three toolkits train and sample
def test_the_first_hour_runs_as_written(tmp_path):
    """The README's short commands, run as a new user would (``python`` = this environment's), from an
    empty folder; then the files they announce are there."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GM_CACHE_DIR": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}  # fmt: skip
    proc = subprocess.run(
        ["bash", "-e", "-c", first_hour_block()], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-3000:])
    out = tmp_path / "outputs" / "first"
    for f in ("mmt/checkpoints/last.ckpt", "mmt/samples/unconditional_0.mid", "mmt/samples/unconditional_0.png",
              "mmt/samples/unconditional_0_arranged.mid", "arranger/checkpoints/last.ckpt", "clipsonic/clip/clip.pt",
              "clipsonic/diffusion/checkpoints/last.ckpt"):  # fmt: skip
        assert (out / f).is_file(), f
    assert list((out / "clipsonic" / "generate").glob("*.wav")) and list((out / "clipsonic" / "generate").glob("*.png"))
