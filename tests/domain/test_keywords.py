"""Keywords and plain-word revocations (compliance.md section 1; anchors.md complaint 6)."""

import pytest

from service.domain.keywords import classify_keyword


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop. ",
        "sToP!",
        "STOPALL",
        "stop all",
        "UNSUBSCRIBE",
        "Cancel",
        "END",
        "quit",
        "REVOKE",
        "OPTOUT",
        "opt-out",
        "opt out",
        "Opt Out.",
        "Stop. Thank you",
        "stop please",
        "please stop",
        "STOP 🙏",
        "stop texting me",
        "Please stop sending me texts",
        "please opt me out",
        "no more messages",
        "No more texts please",
        "don't text me anymore",
        "Do not contact me",
        "unsubscribe me",
        "remove me from this list",
        "take me off your list",
        "No más mensajes",
        "no mas mensajes por favor",
        "ya no me envíen más mensajes",
        "no quiero recibir mensajes",
        "darme de baja",
        "Alto",
    ],
)
def test_opt_outs(text):
    assert classify_keyword(text) == "opt-out"


@pytest.mark.parametrize("text", ["START", "start", "Yes", "YES!", "unstop", " Start. "])
def test_opt_ins(text):
    assert classify_keyword(text) == "opt-in"


@pytest.mark.parametrize("text", ["HELP", "help?", "Info", "INFO."])
def test_help(text):
    assert classify_keyword(text) == "help"


@pytest.mark.parametrize(
    "text",
    [
        "I want it all to stop",
        "make it stop",
        "I just want the pain to stop",
        "Stopped by the pharmacy on my way",
        "1",
        "2 - still dizzy",
        "yes I have a ride",
        "thank you!",
        "Can I bring my husband?",
        "helpful, thanks",
        "The end of the session was hard",
        "startled by a noise",
        "information please about parking",
    ],
)
def test_not_keywords(text):
    assert classify_keyword(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "can you stop the reminders for this week",
        "should I cancel my appointment?",
        "no more appointments for me",
        "stop sending the emails but texts are fine",
    ],
)
def test_unclear_requests_go_to_a_person(text):
    assert classify_keyword(text) == "unclear-revocation"


def test_folding_keeps_digits_whole_and_shortens_drawn_out_letters():
    from service.domain.text import fold

    assert fold("ACK 791666") == "ack 791666"
    assert fold("Stoooop!!") == "stoop"
    assert fold("No MÁS mensajes…") == "no mas mensajes"
