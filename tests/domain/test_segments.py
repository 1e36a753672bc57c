"""SMS segment arithmetic: the rules of 3GPP TS 23.038 and Twilio's segment guide, as vectors."""

from __future__ import annotations

import pytest

from service.domain.segments import avoidable_characters, is_gsm7, segment_info

EMOJI = "\U0001f600"  # 😀, two UTF-16 code units


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        pytest.param("a" * 160, "GSM-7", 160, 1, id="160a"),
        pytest.param("a" * 161, "GSM-7", 161, 2, id="161a"),
        pytest.param("a" * 306, "GSM-7", 306, 2, id="306a"),
        pytest.param("a" * 307, "GSM-7", 307, 3, id="307a"),
        pytest.param("a" * 159 + "€", "GSM-7", 161, 2, id="159a+euro"),
        pytest.param("a" * 152 + "€" + "b" * 10, "GSM-7", 164, 2, id="152a+euro+10b"),
        pytest.param("é" * 70, "GSM-7", 70, 1, id="70e-acute"),
        pytest.param("á" * 70, "UCS-2", 70, 1, id="70a-acute"),
        pytest.param("á" * 71, "UCS-2", 71, 2, id="71a-acute"),
        pytest.param("Hi\u2019", "UCS-2", 3, 1, id="curly-apostrophe"),
        pytest.param("a" * 69 + EMOJI, "UCS-2", 71, 2, id="69a+emoji"),
    ],
)
def test_compliance_vectors(text: str, encoding: str, units: int, segments: int) -> None:
    """Each length and alphabet boundary: 160/161 and 306/307 septets, an escape at a segment edge,
    é (in GSM-7) against á (not), a curly apostrophe, and an emoji counted as two code units."""
    info = segment_info(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)


@pytest.mark.parametrize(
    ("text", "units", "segments"),
    [
        pytest.param("€" * 80, 160, 1, id="80-escapes-fill-one"),
        pytest.param("€" * 81, 162, 2, id="81-escapes"),
        # 306 septets would fit two segments of 153 if the escape pair could be split; it cannot.
        pytest.param("a" * 152 + "€" + "b" * 152, 306, 3, id="escape-pair-not-split"),
        pytest.param("a" * 151 + "€" + "b" * 153, 306, 2, id="escape-pair-fits"),
    ],
)
def test_gsm_escape_pairs_cost_two_and_stay_together(text: str, units: int, segments: int) -> None:
    info = segment_info(text)
    assert (info.encoding, info.units, info.segments) == ("GSM-7", units, segments)


@pytest.mark.parametrize(
    ("text", "units", "segments"),
    [
        pytest.param("a" * 68 + EMOJI, 70, 1, id="emoji-fits-single"),
        pytest.param("á" * 134, 134, 2, id="134-units"),
        pytest.param("á" * 135, 135, 3, id="135-units"),
        # 134 units would fit two segments of 67 if the surrogate pair could be split.
        pytest.param("a" * 66 + EMOJI + "a" * 66, 134, 3, id="surrogate-pair-not-split"),
    ],
)
def test_ucs2_segments_of_67_units(text: str, units: int, segments: int) -> None:
    info = segment_info(text)
    assert (info.encoding, info.units, info.segments) == ("UCS-2", units, segments)


def test_empty_text_is_no_segment() -> None:
    info = segment_info("")
    assert (info.encoding, info.units, info.segments) == ("GSM-7", 0, 0)


def test_one_non_gsm_character_switches_the_whole_message() -> None:
    plain = "Your session is tomorrow at 9:00. Reply YES to confirm."
    assert segment_info(plain).encoding == "GSM-7"
    assert segment_info(plain + "\u00a0").encoding == "UCS-2"
    assert segment_info(plain + "\u00a0").units == len(plain) + 1


def test_is_gsm7() -> None:
    assert is_gsm7("Hello @ £5 {ok} [x] ~ | ^ \\ €\n")
    assert not is_gsm7("Hi\u2019")
    assert not is_gsm7("ç")  # only upper-case Ç is in the GSM basic table


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        pytest.param("It\u2019s fine", [(2, "\u2019")], id="right-single-quote"),
        pytest.param("\u2018quoted\u2019", [(0, "\u2018"), (7, "\u2019")], id="single-quotes"),
        pytest.param("\u201cok\u201d", [(0, "\u201c"), (3, "\u201d")], id="double-quotes"),
        pytest.param("9:00\u00a0am", [(4, "\u00a0")], id="nbsp"),
        pytest.param("wait\u2026", [(4, "\u2026")], id="ellipsis"),
        pytest.param("8\u20139", [(1, "\u2013")], id="en-dash"),
        pytest.param("see you " + EMOJI, [(8, EMOJI)], id="emoji"),
        pytest.param("sun \u2600", [(4, "\u2600")], id="dingbat"),
        pytest.param("Plain 'GSM' text - \u20ac5", [], id="nothing-avoidable"),
        pytest.param("", [], id="empty"),
    ],
)
def test_avoidable_characters(text: str, flagged: list[tuple[int, str]]) -> None:
    """Characters that force UCS-2 although a plain equivalent exists, with their index."""
    assert avoidable_characters(text) == flagged


def test_avoidable_characters_do_not_flag_real_letters() -> None:
    """A patient's name in another script needs UCS-2; it is not the template's mistake."""
    assert segment_info("Zo\u00eb").encoding == "UCS-2"
    assert avoidable_characters("Zo\u00eb \u0141ukasz") == []
