"""The crisis screen: phrases that must fire, and everyday phrases that must not."""

import pytest

from service.domain.crisis import screen


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I want to kill myself", "suicide"),
        ("i want to kill my self", "suicide"),
        ("thinking about suicide", "suicide"),
        ("feeling suicidal tonight", "suicide"),
        ("Feeling SUCIDAL", "suicide"),
        ("having suiside thoughts", "suicide"),
        ("I wanna die", "suicide"),
        ("i want to die!!!", "suicide"),
        ("I don't want to live anymore", "suicide"),
        ("dont want to wake up", "suicide"),
        ("everyone would be better off dead without me... I mean me dead", "suicide"),
        ("I'm going to end my life", "suicide"),
        ("I want to end it all", "suicide"),
        ("I can't go on", "suicide"),
        ("STOP I want to kill myself", "suicide"),
        ("2 and I keep thinking of hurting myself", "self-harm"),
        ("I cut myself again", "self-harm"),
        ("self-harm urges", "self-harm"),
        ("I took too many pills", "overdose"),
        ("I think I overdosed", "overdose"),
        ("my chest hurts", "medical"),
        ("Chest pain since I got home", "medical"),
        ("I can't breathe", "medical"),
        ("cant breathe well", "medical"),
        ("trouble breathing", "medical"),
        ("short of breath", "medical"),
        ("I fainted in the bathroom", "medical"),
        ("he passed out and I can't wake him up", "medical"),
        ("Quiero morirme", "suicide"),
        ("no quiero vivir", "suicide"),
        ("pienso en suicidarme", "suicide"),
        ("quiero matarme", "suicide"),
        ("quiero hacerme daño", "self-harm"),
        ("me tomé todas las pastillas", "overdose"),
        ("tengo dolor en el pecho", "medical"),
        ("no puedo respirar", "medical"),
        ("me desmayé", "medical"),
    ],
)
def test_crisis_language_fires(text, category):
    hit = screen(text)
    assert hit is not None and hit.category == category


@pytest.mark.parametrize(
    "text",
    [
        "1",
        "2 - still dizzy",
        "feeling fine, thanks",
        "I'm killing it at work",
        "this traffic is killing me",
        "I'm dying to know how it went",
        "dead tired but ok",
        "the breathing exercises helped",
        "STOP",
        "I'm not suicidal, just tired",
        "no thoughts of suicide",
        "no chest pain, just a headache",
        "never had suicidal thoughts",
        "yes I have a ride",
        "can I reschedule?",
        "8",
        "sin dolor de pecho",
        "Estoy bien, gracias",
        "I want it all to stop",
    ],
)
def test_everyday_language_does_not_fire(text):
    assert screen(text) is None


def test_a_negation_elsewhere_does_not_hide_a_crisis():
    assert screen("not sure if I want to die") is not None
    assert screen("no, I want to kill myself") is not None
