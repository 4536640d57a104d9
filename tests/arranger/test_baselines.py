import numpy as np

from arranger.baselines import Baseline, closest_pitch, fit_zone, zone_predict
from arranger.data import Example
from arranger.representation import entry_hints


def test_zone_fit_is_exact_on_separable_data():
    pitch = np.array([80, 75, 70, 65, 60, 55, 50, 45])
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    bounds = fit_zone(pitch, labels, 4)
    assert bounds == sorted(bounds, reverse=True)
    assert zone_predict(pitch, bounds).tolist() == labels.tolist()


def test_closest_pitch_follows_voices():
    # two voices: upper moves 72->74->76, lower 60->59->57; the lower enters one beat late
    notes = np.array([[0, 72, 24], [24, 74, 24], [24, 60, 24], [48, 76, 24], [48, 59, 24], [72, 57, 24]])
    labels = np.array([0, 0, 1, 0, 1, 1])
    for mono in (False, True):
        assert closest_pitch(notes, entry_hints(notes[:, 0], labels, 2), mono=mono).tolist() == labels.tolist()


def test_baseline_fit_predict():
    ex = Example("a", np.array([[0, 70, 24, 0], [0, 50, 24, 1], [24, 72, 24, 0], [48, 71, 24, 0]]))
    b = Baseline("most_common", 2).fit([ex])
    assert b.predict(ex.notes[:, :3]).tolist() == [0, 0, 0, 0]
    z = Baseline("zone", 2, dict(b.state))
    assert z.predict(ex.notes[:, :3]).tolist() == [0, 1, 0, 0]
    o = Baseline("zone_oracle", 2, dict(b.state))
    assert o.predict(ex.notes[:, :3], ex.notes[:, 3]).tolist() == [0, 1, 0, 0]


def test_closest_pitch_mono_keeps_chords_on_distinct_parts():
    # SATB chords: both notes of the upper pair lie above their last pitches, so the unconstrained rule
    # gives both to the soprano; mono matches them to distinct parts by squared distance
    notes = np.array(
        [[0, 72, 24], [0, 67, 24], [0, 60, 24], [0, 48, 24], [24, 76, 24], [24, 74, 24], [24, 62, 24], [24, 50, 24]]
    )
    labels = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    entry = entry_hints(notes[:, 0], labels, 4)
    assert closest_pitch(notes, entry, mono=True).tolist() == labels.tolist()
    assert closest_pitch(notes, entry, mono=False).tolist()[4:6] == [0, 0]


def test_closest_pitch_mono_prefers_free_parts():
    # the upper part holds a long note; the next onset's note goes to the free part even though it is
    # closer to the sounding one
    notes = np.array([[0, 72, 96], [0, 60, 24], [24, 70, 24]])
    labels = np.array([0, 1, 1])
    assert closest_pitch(notes, entry_hints(notes[:, 0], labels, 2), mono=True).tolist() == [0, 1, 1]
