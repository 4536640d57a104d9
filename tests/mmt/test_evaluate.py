import json
import math

import numpy as np
import pytest

from gm_common.cli import compose
from gm_common.errors import ConfigError
from gm_common.notes import music_from_tracks
from mmt.evaluate import cut, run, score, summarise


def _cfg(name, overrides):
    return compose("mmt", name, overrides)


def test_score_on_a_c_major_scale():
    rows = np.array([[i * 12, p, 12] for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72] * 10)])
    music = music_from_tracks([("x", 0, False, rows)], 12)
    s = score(music, max_beats=64, tempo_qpm=120)
    assert s["scale_consistency"] == pytest.approx(100.0)
    assert s["groove_consistency"] == pytest.approx(100.0, abs=1.0)
    assert s["length_s"] == pytest.approx(40.0) and s["notes_per_s"] == pytest.approx(2.0)
    assert 2.7 < s["pitch_class_entropy"] < 2.9  # 7 pitch classes, C twice as often
    assert sum(len(t.notes) for t in cut(music, 64).tracks) == 64
    assert s["tracks"] == 1.0
    two = music_from_tracks([("a", 0, False, rows), ("b", 40, False, rows), ("empty", 41, False, rows[:0])], 12)
    assert score(two)["tracks"] == 2.0
    summary = summarise([s, s, {**s, "pitch_class_entropy": float("nan")}])
    assert summary["pitch_class_entropy"]["n"] == 2 and summary["length_s"]["ci95"] == 0.0


def test_evaluate_generates_and_compares_with_test_split(trained_run, tmp_path):
    out = tmp_path / "ev.json"
    result = run(_cfg("evaluate", [f"checkpoint={trained_run}", "n_samples=3", "max_events=60", f"out={out}"]))
    saved = json.loads(out.read_text())
    assert saved["n_samples"] == 3 and saved["n_truth"] >= 1
    gt = result["ground_truth"]["pitch_class_entropy"]["mean"]
    assert math.isfinite(gt) and 2.0 < gt < 3.6
    assert result["ground_truth"]["tracks"]["mean"] >= 1 and "tracks" in result["differences"]


@pytest.mark.parametrize("mode", ["instrument", "continuation"])
def test_evaluate_each_mode_reports_structure_and_its_targets(trained_run, tmp_path, mode):
    out = tmp_path / "ev.json"
    overrides = [f"checkpoint={trained_run}", "n_samples=2", "max_events=40", f"out={out}", f"mode={mode}",
                 "instruments=[soprano,bass]", "sampling=paper", "temperature=1.2"]  # fmt: skip
    result = run(_cfg("evaluate", overrides))
    assert result["mode"] == mode and result["n_samples"] == 2 and result["max_events"] == 40
    assert result["sampling"]["min_p"] == 0.0 and result["sampling"]["temperature"] == 1.2
    silence = result["ground_truth"]["longest_silence_beats"]
    assert {"median", "p90", "max", "over_8", "over_32"} <= set(silence) and 0 <= silence["over_8"] <= 1
    assert set(result["targets_met"]) == {"pitch_class_entropy", "scale_consistency", "groove_consistency",
                                          "silence_over_8", "silence_over_32", "notes_per_beat", "polyphony"}
    assert result["all_targets_met"] == all(result["targets_met"].values())
    with pytest.raises(ConfigError, match="mode=sideways: expected one of unconditional, instrument, continuation"):
        run(_cfg("evaluate", [*overrides[:-3], "mode=sideways", f"out={tmp_path / 'x.json'}"]))


def test_compare_checks_each_target_against_the_truth():
    from mmt.evaluate import compare

    beat = np.array([[i * 12, 60 + i % 5, 12] for i in range(64)])
    truth = [music_from_tracks([("a", 0, False, beat)], 12)]
    gap = beat.copy()
    gap[32:, 0] += 40 * 12  # a 40-beat silence in the middle
    r = compare([music_from_tracks([("a", 0, False, gap)], 12)], truth)
    assert r["samples"]["longest_silence_beats"]["over_32"] == 1.0
    assert not r["targets_met"]["silence_over_8"] and not r["targets_met"]["silence_over_32"]
    assert not r["targets_met"]["notes_per_beat"]  # 64 notes over 104 beats against 64 over 64
    assert r["targets_met"]["polyphony"] and r["targets_met"]["pitch_class_entropy"] and not r["all_targets_met"]
    assert compare(truth, truth)["all_targets_met"]


def test_evaluate_needs_a_source(tmp_path):
    with pytest.raises(ConfigError, match="give checkpoint"):
        run(_cfg("evaluate", ["checkpoint=null", f"out={tmp_path / 'x.json'}"]))
    with pytest.raises(ConfigError, match="unknown pretrained model 'nope'"):
        run(_cfg("evaluate", ["checkpoint=nope", f"out={tmp_path / 'x.json'}"]))
    assert not any(tmp_path.iterdir())


def test_evaluate_scores_a_folder_of_samples_against_the_checkpoints_test_split(trained_run, tmp_path):
    from mmt.generate import run as generate

    generate(compose("mmt", "generate", [f"checkpoint={trained_run}", f"out_dir={tmp_path / 's'}", "render=false",
                                         "prompt=" + str(_chorale()), "max_events=80"]))  # fmt: skip
    result = run(
        _cfg("evaluate", [f"checkpoint={trained_run}", f"samples_dir={tmp_path / 's'}", f"out={tmp_path / 'e.json'}"])
    )
    assert result["n_samples"] == 1 and result["samples"]["notes_per_s"]["n"] == 1 and result["n_truth"] >= 1


def test_attention_analysis_writes_png_and_json(trained_run, tmp_path):
    from mmt.analyze_attention import run as analyze

    result = analyze(_cfg("analyze_attention", [f"checkpoint={trained_run}", f"out_dir={tmp_path}", "n_pieces=2"]))
    assert (tmp_path / "attention.png").stat().st_size > 0 and (tmp_path / "attention.json").is_file()
    gains = [g for g in result["beat_distance"]["gain"] if g is not None]
    assert gains and all(g > 0 for g in gains) and result["beat_distance"]["pairs"][0] > 0
    found = result["findings"]
    recent = [g for g in result["beat_distance"]["gain"][:4] if g is not None]
    assert found["recent_beats_mean"] == pytest.approx(np.mean(recent))
    assert found["recent_beats_above_1"] == (found["recent_beats_mean"] > 1)
    assert found["octave"] == pytest.approx(result["pitch_interval"]["gain"][12])


def test_attention_findings_are_read_from_the_gain_profiles():
    from mmt.analyze_attention import findings

    pitch = np.ones(25)
    pitch[[7, 12]], pitch[[1, 6]] = 1.5, 0.5
    beats = np.linspace(2.0, 0.5, 17)
    found = findings(beats, pitch)
    assert found["fifth_and_octave_above_1"] and found["consonant_above_dissonant"] and found["recent_beats_above_1"]
    assert found["far_beats_mean"] < 1 < found["recent_beats_mean"]
    assert not findings(beats[::-1], 2 - pitch)["consonant_above_dissonant"]


def _chorale():
    from gm_common.corpus import list_collection

    return list_collection("bach_chorales")[0]


def test_structure_sees_a_long_silence_that_table_3_cannot():
    from mmt.evaluate import structure, summarise

    # two tracks: quarter notes on beats 0..3 (one of them a two-note chord), then nothing until beat 40 (12 ticks)
    a = np.array([[0, 60, 12], [12, 62, 12], [24, 64, 12], [36, 65, 12], [480, 67, 24]])
    b = np.array([[0, 48, 48]])
    music = music_from_tracks([("a", 0, False, a), ("b", 32, False, b)], 12)
    s = structure(music)
    assert s["length_beats"] == pytest.approx(42.0)
    assert s["longest_silence_beats"] == pytest.approx(36.0)  # beat 4 to beat 40
    assert s["heard_beats"] == pytest.approx(42.0 - 36.0)  # silences over 8 beats are not heard as music
    assert s["notes_per_beat"] == pytest.approx(6 / 42)
    assert s["polyphony"] == pytest.approx((4 * 12 * 2 + 24) / (4 * 12 + 24))  # two pitches for 4 beats, then one
    assert s["tracks_per_bar"] == pytest.approx(3 / 11)  # bar 0: both tracks, bar 10: one; 11 bars
    late = music_from_tracks([("a", 0, False, np.array([[120, 60, 12]]))], 12)
    assert structure(late)["longest_silence_beats"] == pytest.approx(10.0)  # silence before the first note counts
    assert structure(late)["heard_beats"] == pytest.approx(1.0)
    legato = music_from_tracks([("a", 0, False, np.array([[0, 60, 120], [24, 62, 12], [120, 64, 12]]))], 12)
    assert structure(legato)["longest_silence_beats"] == 0.0  # a held note is not silence
    empty = structure(music_from_tracks([], 12))
    assert empty["length_beats"] == 0.0 and math.isnan(empty["longest_silence_beats"])
    summary = summarise([score(m) for m in (music, late, legato, music_from_tracks([], 12))])["longest_silence_beats"]
    assert summary["over_8"] == pytest.approx(3 / 4) and summary["over_32"] == pytest.approx(2 / 4)  # empty: over
    assert summary["max"] == pytest.approx(36.0) and summary["median"] == pytest.approx(10.0)
