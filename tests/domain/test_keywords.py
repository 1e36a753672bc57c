"""Keywords, plain-word revocations and wrong numbers, table-tested from tests/data/keyword_corpus.tsv."""

from collections import Counter
from pathlib import Path

import pytest

from service.domain.keywords import classify_keyword, tokens
from tests.workcount import calls_made

CORPUS = Path(__file__).resolve().parents[1] / "data" / "keyword_corpus.tsv"
LABELS = ("opt-out", "opt-in", "help", "tips-off", "tips-on", "unclear-revocation", "wrong-number", "none")


def corpus() -> list[tuple[str, str, str]]:
    rows = []
    for number, line in enumerate(CORPUS.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        label, lang, text = line.split("\t")
        assert label in LABELS and lang in ("en", "es"), f"line {number}: {line!r}"
        rows.append((label, lang, text))
    return rows


ROWS = corpus()


@pytest.mark.parametrize(("label", "lang", "text"), ROWS, ids=[f"{r[0]}:{r[2]}" for r in ROWS])
def test_each_corpus_phrasing_is_classified_as_labelled(label, lang, text):
    assert classify_keyword(text) == (None if label == "none" else label)


def test_the_corpus_covers_every_label_in_both_languages():
    counts = Counter(label for label, _, _ in ROWS)
    by_lang = Counter((label, lang) for label, lang, _ in ROWS)
    assert counts["opt-out"] >= 60 and by_lang["opt-out", "es"] >= 20
    assert counts["none"] >= 40 and by_lang["none", "es"] >= 5
    assert counts["wrong-number"] >= 20 and by_lang["wrong-number", "es"] >= 5
    assert counts["unclear-revocation"] >= 15
    assert by_lang["help", "es"] >= 2 and counts["opt-in"] >= 5
    assert by_lang["tips-off", "es"] >= 5 and by_lang["tips-on", "es"] >= 3 and counts["tips-off"] >= 15


@pytest.mark.parametrize(
    "text",
    [
        "I feel awful, can't stop throwing up",
        "cant stop shaking",
        "I can't stop crying",
        "make it stop",
        "I want it all to stop",
        "the pain won't stop",
        "no puedo parar de vomitar",
        "quiero que todo pare",
        "when will the nausea stop",
        "stop the headache",
        "I need to cancel my appointment",
        "cancel my session friday",
        "necesito cancelar mi cita",
    ],
)
def test_a_symptom_a_feeling_or_a_session_cancellation_is_never_a_revocation(text):
    assert classify_keyword(text) is None


def test_a_reminder_about_one_session_goes_to_a_person_and_is_never_an_opt_out():
    assert classify_keyword("can you stop the reminder for tuesday i rescheduled") == "unclear-revocation"


@pytest.mark.parametrize("text", ["SI", "Sí", "sí.", "yes please", "yes I have a ride"])
def test_si_and_a_yes_sentence_are_answers_not_opt_ins(text):
    assert classify_keyword(text) is None


@pytest.mark.parametrize("text", ["I'm not sure", "this is not working", "is this the right number to call?"])
def test_sentences_near_a_wrong_number_are_not_one(text):
    assert classify_keyword(text) is None


def test_a_long_revocation_with_other_content_goes_to_a_person():
    text = (
        "hi its me again, thanks for everything last week, the session went well and i feel better, "
        "but please stop texting me now"
    )
    assert len(tokens(text)) > 20
    assert classify_keyword(text) == "unclear-revocation"


def test_tokens_read_text_speak_and_misspellings():
    assert tokens("Pls STOP txting me!!") == ("please", "stop", "texting", "me")
    assert tokens("u can take me off ur list") == ("you", "can", "take", "me", "off", "your", "list")
    assert tokens("do not send any more messges") == ("dont", "send", "anymore", "messages")
    assert tokens("Unsubcribe") == ("unsubscribe",)
    assert tokens("wrong #") == ("wrong", "number")


ADVERSARIAL_UNITS = [
    "please stop ",
    "no more ",
    "not ",
    "don't ",
    "do not ",
    "stop texting me ",
    "stop ",
    "stop!",
    "no ",
    "wrong ",
    "this isn't maria ",
    "no soy ",
    "no me ",
    "ya no ",
    "no mas ",
    "dejen de ",
    "i don't want ",
    "can you ",
    "remove me from ",
    "unsubscribe ",
    "unsubcribe ",
    "messges ",
    "anymore ",
    "thank you ",
    "por favor ",
    "can't stop ",
    "who is this im not ",
    "stoooop ",
    "a",
    "é",
    "🙏 ",
]


PLAIN = "Thanks so much, see you on Tuesday at ten. My ride is my sister and I will skip breakfast. "


def _body(unit: str, size: int = 1600) -> str:
    return (unit * (size // len(unit) + 1))[:size]


# Work is counted in function calls (tests/workcount.py), the same on every machine; seconds are
# measured by `make bench` (benchmark 7).
@pytest.mark.parametrize("unit", ADVERSARIAL_UNITS)
def test_an_adversarial_body_costs_no_more_than_a_few_ordinary_texts_of_its_length(unit):
    ratio = calls_made(classify_keyword, _body(unit)) / calls_made(classify_keyword, _body(PLAIN))
    assert ratio <= 4, f"{ratio:.1f} times an ordinary text for {unit!r} x {1600 // len(unit)}"


@pytest.mark.parametrize("unit", [*ADVERSARIAL_UNITS[:6], PLAIN])
def test_ten_times_the_text_is_about_ten_times_the_work(unit):
    small = calls_made(classify_keyword, _body(unit))
    large = calls_made(classify_keyword, _body(unit, 16000))
    assert 5 * small <= large <= 12 * small, (small, large)


def test_folding_keeps_digits_whole_and_shortens_drawn_out_letters():
    from service.domain.text import fold

    assert fold("ACK 791666") == "ack 791666"
    assert fold("Stoooop!!") == "stoop"
    assert fold("No MÁS mensajes…") == "no mas mensajes"
