"""Test-suite wide settings: one thread per process (CI has 2 cores) and a per-session cache folder."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> str:
    """A corpus cache folder shared by the tests of one session (conversions happen once)."""
    return str(tmp_path_factory.mktemp("gm-cache"))


@pytest.fixture
def no_fluidsynth(monkeypatch):
    """FluidSynth is not installed, as far as the toolkits can tell (gm_common.render finds no program)."""
    import gm_common.render
    from gm_common.errors import MissingDependencyError

    def missing() -> str:
        raise MissingDependencyError(f"FluidSynth is not installed; {gm_common.render.INSTALL_HINT}")

    monkeypatch.setattr(gm_common.render, "find_fluidsynth", missing)
