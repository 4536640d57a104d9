import numpy as np
import pytest
from PIL import Image

from gm_common.audio import load_wav
from gm_common.errors import MissingDependencyError
from gm_common.notes import music_from_tracks
from gm_common.plots import plot_mel, plot_pianoroll
from gm_common.render import find_soundfont, fluidsynth_available, render_music


def _music():
    notes = np.array([[i * 12, 60 + (i % 5) * 2, 12, 90] for i in range(8)])
    bass = np.array([[i * 24, 48, 24, 90] for i in range(4)])
    return music_from_tracks([("Flute", 73, False, notes), ("Bass", 32, False, bass)], 12, tempo_qpm=120.0)


@pytest.mark.skipif(
    not fluidsynth_available(),
    reason="FluidSynth or a GM soundfont is not installed (apt-get install fluidsynth timgm6mb-soundfont)",
)
def test_render_writes_a_non_silent_wav_of_the_right_length(tmp_path):
    path = render_music(_music(), tmp_path / "out.wav", sample_rate=22050)
    audio, sr = load_wav(path)
    assert sr == 22050
    # 8 beats at 120 qpm = 4 s, plus 1 s of release tail.
    assert abs(len(audio) / sr - 5.0) < 0.01
    assert np.sqrt(np.mean(audio[: 4 * sr] ** 2)) > 1e-3


def test_missing_soundfont_is_a_clear_error(tmp_path):
    with pytest.raises(MissingDependencyError, match="not found"):
        find_soundfont(tmp_path / "nope.sf2")


def test_plots_write_valid_pngs(tmp_path):
    roll = plot_pianoroll(_music(), tmp_path / "roll.png", title="test")
    mel = plot_mel(np.random.default_rng(0).normal(size=(64, 100)), tmp_path / "mel.png", 16000, 256)
    for path in (roll, mel):
        with Image.open(path) as img:
            assert img.format == "PNG" and img.size[0] > 200 and img.size[1] > 100
