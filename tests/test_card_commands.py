"""The design card's three commands, as written, from an empty folder, right after set-up: each uses the
shipped models and writes what it announces."""

import os
import subprocess
import sys

import pytest

from gm_common.corpus import list_collection
from gm_common.notes import read_music, write_midi


def _run(args: list[str], cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_arranger_infer_song_mid(tmp_path):
    song = next(p for p in list_collection("bach_chorales") if p.name == "bwv26.6.mxl")
    write_midi(read_music(song, resolution=24), tmp_path / "song.mid")
    _run(["arranger.infer", "song.mid"], tmp_path)
    arranged = read_music(tmp_path / "song_arranged.mid")
    assert [t.name for t in arranged.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert (tmp_path / "song_arranged.png").stat().st_size > 0


def test_mmt_generate(tmp_path):
    _run(["mmt.generate"], tmp_path)
    midis = list(tmp_path.glob("outputs/mmt/*/unconditional_0.mid"))
    assert len(midis) == 1 and read_music(midis[0]).tracks
    assert midis[0].with_suffix(".png").stat().st_size > 0


@pytest.mark.parametrize("prompt", ["dog barking"])
def test_clipsonic_generate(tmp_path, prompt):
    _run(["clipsonic.generate", prompt], tmp_path)
    wavs = list(tmp_path.glob("outputs/clipsonic/generate/*.wav"))
    pngs = list(tmp_path.glob("outputs/clipsonic/generate/*.png"))
    assert len(wavs) == 1 and len(pngs) == 1 and wavs[0].stat().st_size > 1000
