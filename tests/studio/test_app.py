"""The running app through its endpoints (gradio_client), as any client (and the page) calls them."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from gm_common.notes import read_music
from gm_common.render import fluidsynth_available

needs_fluidsynth = pytest.mark.skipif(not fluidsynth_available(), reason="FluidSynth renders the MIDI's audio")


def note_set(music) -> list[tuple[int, int]]:
    return sorted((n.time, n.pitch) for t in music.tracks for n in t.notes)


@needs_fluidsynth
def test_arrange_gives_every_note_of_the_chorale_a_part(client, server, chorale):
    roll, wav, midi, summary = client.predict(handle_file(str(chorale)), "bach_bilstm", api_name="/arrange")
    arranged, source = read_music(midi, resolution=24), read_music(chorale, resolution=24)
    assert note_set(arranged) == note_set(source)
    assert [t.name for t in arranged.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert summary.startswith(f"{len(note_set(source))} notes: Soprano")
    audio, rate = sf.read(wav)
    assert rate == 22050 and len(audio) > rate and np.abs(audio).max() > 0.01
    assert Path(roll).read_bytes()[:4] == b"\x89PNG"


@needs_fluidsynth
@pytest.mark.parametrize(
    "mode, instruments, prompt",
    [("unconditional", [], None), ("instruments", ["violin", "viola", "cello"], None), ("continuation", [], True)],
)
def test_compose_in_each_mode(client, chorale, mode, instruments, prompt):
    prompt = handle_file(str(chorale)) if prompt else None
    roll, wav, midi, summary = client.predict("corpus_tiny", mode, instruments, prompt, 4, 0, 1.0, api_name="/compose")
    music = read_music(midi)
    assert sum(len(t.notes) for t in music.tracks) == int(summary.split(" ")[0]) > 0
    if instruments:
        assert {t.name for t in music.tracks} <= set(instruments)
    assert sf.info(wav).duration > 0.5


def test_without_fluidsynth_the_page_says_so_and_still_gives_the_midi(client, chorale, no_fluidsynth):
    roll, wav, midi, summary = client.predict(handle_file(str(chorale)), "bach_bilstm", api_name="/arrange")
    assert wav is None and "no audio: FluidSynth is not installed" in summary
    assert sum(len(t.notes) for t in read_music(midi).tracks) == int(summary.split(" ")[0]) > 0


def test_sound_makes_audio_and_a_spectrogram(client):
    (wav, png, summary) = client.predict("dog barking", "everyday", "pd", 0, 3.0, 5, None, api_name="/sound")
    audio, rate = sf.read(wav)
    assert rate == 16000 and len(audio) > rate and np.abs(audio).max() > 0.01
    assert Path(png).read_bytes()[:4] == b"\x89PNG" and "5 steps" in summary


def test_sound_from_an_image_in_mode_iq(client, tmp_path):
    from PIL import Image

    Image.new("RGB", (32, 32), (200, 30, 30)).save(tmp_path / "red.png")
    wav, png, summary = client.predict(
        "", "synthetic", "iq", 0, 3.0, 5, handle_file(str(tmp_path / "red.png")), api_name="/sound"
    )
    audio, rate = sf.read(wav)
    assert len(audio) > 0.5 * rate and np.abs(audio).max() > 0.01


def test_failures_are_the_toolkits_one_line(client, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not music")
    with pytest.raises(AppError, match="Invalid file type"):
        client.predict(handle_file(str(text)), "bach_bilstm", api_name="/arrange")
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd not really")
    with pytest.raises(AppError) as info:
        client.predict(handle_file(str(broken)), "bach_bilstm", api_name="/arrange")
    assert str(info.value).startswith("broken.mid: ") and "Traceback" not in str(info.value)
    with pytest.raises(AppError, match=r"'kazoo'.* is not in the list of choices: .*'violin'"):  # Gradio's own check
        client.predict("corpus_tiny", "instruments", ["kazoo"], None, 4, 0, 1.0, api_name="/compose")
    with pytest.raises(AppError, match="empty text prompt"):
        client.predict("  ", "everyday", "zs", 0, 3.0, 5, None, api_name="/sound")


def test_uploads_over_the_limit_are_refused(client, tmp_path):
    big = tmp_path / "big.mid"
    big.write_bytes(b"MThd" + b"\0" * (5 * 1024 * 1024 + 10))
    with pytest.raises(Exception, match="(?i)file size|too large|exceeds"):
        client.predict(handle_file(str(big)), "bach_bilstm", api_name="/arrange")


def test_models_load_once_and_requests_leave_no_files(client, server, chorale):
    before = server.models.loads
    for _ in range(2):
        client.predict(handle_file(str(chorale)), "bach_bilstm", api_name="/arrange")
    assert server.models.loads == before and server.models.is_loaded("arranger", "bach_bilstm")
    assert list(server.work_root.iterdir()) == []


def test_the_app_binds_to_localhost_by_default(server):
    assert server.cfg.host == "127.0.0.1" and server.url.startswith("http://127.0.0.1:")
