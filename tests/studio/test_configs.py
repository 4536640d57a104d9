import contextlib
import io
import runpy
import sys

import pytest

from gm_common.cli import compose


@pytest.mark.parametrize("name", ["app", "screenshots"])
def test_every_config_composes(name):
    cfg = compose("studio", name)
    assert cfg.host == "127.0.0.1" and int(cfg.max_file_size_mb) == 5 and cfg.models.arranger == "bach_bilstm"
    assert cfg.port == (0 if name == "screenshots" else 7860)


def test_the_command_composes_its_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["studio", "port=8123", "--cfg", "job"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_module("studio", run_name="__main__", alter_sys=True)
    assert "port: 8123" in out.getvalue() and "host: 127.0.0.1" in out.getvalue()
    assert not list(tmp_path.iterdir()), "composing the config writes nothing"
