"""The viseme mapping table (pure): schemes found from key names, VRM expressions, the
user's JSON table, the jaw, and the errors that say how to map a character."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lipsync.core.errors import InputError
from lipsync.core.mesh.viseme_map import (SCHEMES, VisemeMap, choose_map, detect_map, jaw_map,
                                          load_table, map_from_scheme, normalise_key,
                                          opening_keys)
from lipsync.core.mesh.viseme_names import OPENNESS, VISEMES

OCULUS = ["Basis", "viseme_sil", "viseme_PP", "viseme_FF", "viseme_TH", "viseme_DD",
          "viseme_kk", "viseme_CH", "viseme_SS", "viseme_nn", "viseme_RR", "viseme_aa",
          "viseme_E", "viseme_I", "viseme_O", "viseme_U", "eyeBlinkLeft"]
ARKIT = ["Basis", "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmile_L",
         "mouthSmile_R", "mouthStretch_L", "mouthStretch_R", "eyeBlink_L", "browInnerUp"]


def one_hot(viseme: str, frames: int = 1) -> np.ndarray:
    track = np.zeros((frames, len(VISEMES)))
    track[:, VISEMES.index(viseme)] = 1.0
    return track


def test_key_names_compare_across_tools():
    assert normalise_key("mouthSmile_L") == normalise_key("mouthSmileLeft") == "mouthsmilel"
    assert normalise_key("Fcl_MTH_A") == normalise_key("fcl.mth.a")
    assert normalise_key("jaw_open") == normalise_key("JawOpen")
    assert normalise_key("あ") == "あ"


@pytest.mark.parametrize("names, scheme", [
    (OCULUS, "oculus"), (ARKIT, "arkit"), (["Basis", *VISEMES[1:]], "factory"),
    (["vrc.v_aa", "vrc.v_oh", "vrc.v_ih", "vrc.v_pp"], "vrchat"),
    (["Fcl_MTH_A", "Fcl_MTH_I", "Fcl_MTH_U", "Fcl_EYE_Close"], "vroid"),
    (["aa", "ih", "ou", "ee", "oh", "blink"], "vrm"), (["あ", "い", "う", "まばたき"], "mmd"),
    (["Basis", "MouthOpen", "Smile"], "generic")])
def test_the_scheme_is_found_from_the_names(names, scheme):
    found = detect_map(names)
    assert found.scheme == scheme
    assert set(found.keys) <= set(names)
    assert found.key_values(one_hot("open")).max() > 0        # "open" opens something


def test_oculus_table_drives_the_characters_own_keys():
    found = detect_map(OCULUS)
    open_ = dict(zip(found.keys, found.key_values(one_hot("open"))[0]))
    assert open_["viseme_aa"] == 1.0 and sum(open_.values()) == 1.0
    rounded = dict(zip(found.keys, found.key_values(one_hot("round"))[0]))
    assert rounded["viseme_U"] > rounded["viseme_O"] > 0 and rounded["viseme_aa"] == 0
    assert found.key_values(one_hot("neutral")).max() == 0    # rest: every key at 0
    assert "eyeBlinkLeft" not in found.keys and "viseme_sil" not in found.keys


def test_arkit_left_right_spelling_and_missing_keys():
    found = detect_map(ARKIT)
    assert {"jawOpen", "mouthFunnel", "mouthPucker", "mouthSmile_L"} <= set(found.keys)
    assert "mouthLowerDownLeft" in found.missing and "tongueOut" in found.missing
    wide = dict(zip(found.keys, found.key_values(one_hot("wide"))[0]))
    assert wide["mouthStretch_L"] == wide["mouthStretch_R"] == 0.5


def test_values_are_the_track_times_the_table_clipped():
    found = detect_map(OCULUS)
    track = np.zeros((3, len(VISEMES)))
    track[0, VISEMES.index("open")] = 0.5
    track[1, [VISEMES.index("wide"), VISEMES.index("round")]] = 0.5
    values = found.key_values(track)
    assert values.shape == (3, len(found.keys))
    np.testing.assert_allclose(values @ np.ones(len(found.keys)), [0.5, 1.0, 0.0])
    with pytest.raises(InputError, match="shape"):
        found.key_values(np.zeros((3, 5)))


def test_vrm_expressions_come_before_names():
    expressions = {"aa": {"MTH_Big": 1.0}, "ih": {"MTH_Thin": 0.8}, "ou": {"MTH_Small": 1.0},
                   "oh": {"MTH_Small": 0.5, "MTH_Big": 0.5}}
    names = ["Basis", "MTH_Big", "MTH_Thin", "MTH_Small", "viseme_aa"]
    found = detect_map(names, vrm=expressions)
    assert found.scheme == "vrm" and set(found.keys) == {"MTH_Big", "MTH_Thin", "MTH_Small"}
    table = found.table()
    assert table["open"] == {"MTH_Big": 1.0}
    assert table["round"] == pytest.approx({"MTH_Small": 0.6 + 0.2, "MTH_Big": 0.2})
    assert table["wide"] == pytest.approx({"MTH_Thin": 0.48})   # ee binds nothing


def test_jaw_when_no_keys_and_the_error_says_how_to_map():
    found = detect_map(["Basis", "blink"], has_jaw=True)
    assert found.scheme == "jaw" and found.keys == ()
    np.testing.assert_allclose(found.jaw_values(one_hot("open", 2)), [1.0, 1.0])
    assert found.jaw_values(one_hot("wide"))[0] == OPENNESS["wide"]
    with pytest.raises(InputError, match=r"'Head' has no mouth controls.*Basis, blink.*"
                                         r"no jaw bone.*--visemes table\.json"):
        detect_map(["Basis", "blink"], character="'Head'")
    with pytest.raises(InputError, match="shape keys: none"):
        detect_map([], character="'Head'")


def test_user_table(tmp_path):
    path = tmp_path / "table.json"
    path.write_text(json.dumps({"open": {"Kuchi_A": 0.7, "jaw down": 0.3},
                                "round": {"kuchi_o": 1.0}}))
    found = choose_map(str(path), ["Basis", "Kuchi_A", "Kuchi_O", "Jaw_Down"])
    assert found.scheme == "user"
    assert found.table() == {"open": {"Kuchi_A": 0.7, "Jaw_Down": 0.3},
                             "round": {"Kuchi_O": 1.0}}
    path.write_text(json.dumps({"open": {"Nope": 1}}))
    with pytest.raises(InputError, match="does not have: Nope.*its keys: Basis, Kuchi_A"):
        choose_map(str(path), ["Basis", "Kuchi_A"])


@pytest.mark.parametrize("content, message", [
    ('{"neutral": {"a": 1}}', "'neutral' is the rest pose"),
    ('{"shout": {"a": 1}}', "unknown viseme 'shout'.*closed, open"),
    ('{"open": {"a": 1.5}}', "weights from 0 to 1"),
    ('{"open": ["a"]}', "weights from 0 to 1"),
    ("[1, 2]", "must be a JSON object"),
    ("{open", "is not JSON")])
def test_bad_tables_say_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_table(path)


def test_choices_that_do_not_fit():
    with pytest.raises(InputError, match="does not exist"):
        choose_map("/nonexistent/table.json", OCULUS)
    with pytest.raises(InputError, match="--visemes takes one of auto"):
        choose_map("oculuss", OCULUS)
    with pytest.raises(InputError, match="--visemes arkit: .* no key that opens"):
        choose_map("arkit", OCULUS)
    with pytest.raises(InputError, match="no jaw bone"):
        choose_map("jaw", OCULUS)
    assert choose_map("oculus", OCULUS).scheme == "oculus"
    assert choose_map("auto", ARKIT).scheme == "arkit"


def test_every_scheme_names_only_factory_visemes_and_weights_in_range():
    for scheme, rows in SCHEMES.items():
        assert set(rows) <= set(VISEMES[1:]), scheme
        assert "open" in rows, scheme
        for row in rows.values():
            assert all(0 < w <= 1 for w in row.values()), scheme
    assert map_from_scheme("oculus", ARKIT) is None
    assert isinstance(detect_map(ARKIT), VisemeMap)


def test_the_keys_that_open_the_mouth_are_the_maps_open_row():
    assert opening_keys(OCULUS) == ("viseme_aa",) == detect_map(OCULUS).opening()
    assert opening_keys([*ARKIT, "mouthLowerDown_L", "mouthLowerDown_R"]) == \
        ("jawOpen", "mouthLowerDown_L", "mouthLowerDown_R")
    assert opening_keys(["Basis", "MouthOpen", "open_mouth"]) == ("MouthOpen",)   # generic
    assert opening_keys(["Basis", "blink", "mouthSmile"]) == ()                   # no map
    assert jaw_map().opening() == ()
