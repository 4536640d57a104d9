import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gm_common import demo
from gm_common.render import fluidsynth_available
from gm_common.report import write_index

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _dump_dom(page: Path, profile: Path) -> str:
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
        "--allow-file-access-from-files",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.as_uri(),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def test_index_lists_every_output(tmp_path, no_fluidsynth, capsys):
    demo.main(tmp_path / "common")
    (tmp_path / "common" / "data").mkdir()
    (tmp_path / "common" / "data" / "training_image.png").write_bytes(b"")
    page = write_index(tmp_path).read_text()
    assert "training_image" not in page
    assert 'src="common/bwv10.7.png"' in page and 'href="common/bwv10.7.mid"' in page
    # without FluidSynth the WAV, a render-only output, is dropped with a one-line note
    assert "<audio" not in page and not (tmp_path / "common" / "bwv10.7.wav").exists()
    assert capsys.readouterr().out.count("no WAV") == 1


@pytest.mark.skipif(not fluidsynth_available(), reason="FluidSynth is needed to make the demo's WAV")
def test_index_plays_the_wav(tmp_path):
    demo.main(tmp_path / "common")
    page = write_index(tmp_path).read_text()
    assert '<audio controls preload="metadata" src="common/bwv10.7.wav">' in page


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
@pytest.mark.skipif(not fluidsynth_available(), reason="FluidSynth is needed to make the demo's WAV")
def test_every_audio_and_image_loads_in_headless_chromium(tmp_path):
    demo.main(tmp_path / "common")
    dom = _dump_dom(write_index(tmp_path), tmp_path / "profile")
    status = re.search(r'<p id="load-status">(.*?)</p>', dom).group(1)
    assert status == "all 2 media files loaded", status

    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.png").write_bytes(b"not a png")
    dom = _dump_dom(write_index(tmp_path), tmp_path / "profile2")
    assert "BROKEN: broken/x.png" in re.search(r'<p id="load-status">(.*?)</p>', dom).group(1)
