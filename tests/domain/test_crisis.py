"""The crisis screen: what must fire (and as what), what must not, and that it runs in linear time."""

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from service.domain import screen_lexicon as lex
from service.domain.crisis import CATEGORIES, PRIORITY, CrisisHit, screen, screen_all
from tests.workcount import calls_made

CORPUS = Path(__file__).resolve().parents[1] / "data" / "screen_corpus.tsv"


def corpus_lines() -> list[tuple[str, str, str]]:
    lines = []
    for raw in CORPUS.read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.startswith("#"):
            category, lang, text = raw.split("\t", 2)
            lines.append((category, lang, text))
    return lines


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # From the issue.
        ("me voy a matar", "suicide"),
        ("tengo ganas de morirme", "suicide"),
        ("I feel like dying", "suicide"),
        ("I want to end it", "suicide"),
        ("thinking of ending things", "suicide"),
        ("I have pills saved up", "suicide"),
        ("swallowed all my pills", "overdose"),
        ("I want to hurt someone", "harm-others"),
        ("blood pressure is really high and I have a terrible headache", "urgent-symptom"),
        ("I feel awful, can't stop throwing up", "urgent-symptom"),
        ("not sure I can keep going", "suicide"),
        ("I don't want to live", "suicide"),
        ("no quiero vivir", "suicide"),
        ("I can't breathe", "medical-emergency"),
        # Text-speak, misspellings, repeated letters, accents, no punctuation.
        ("i wanna kms", "suicide"),
        ("Feeling SUCIDAL", "suicide"),
        ("having suiside thoughts", "suicide"),
        ("i want to dieeee", "suicide"),
        ("i want to kill my self", "suicide"),
        ("I cut myself again", "suicide"),
        ("Quiero morirme", "suicide"),
        ("pienso en suicidarme", "suicide"),
        ("everyone would be better off without me", "suicide"),
        # Overdose: a quantity, a count, a poison; a normal dose does not fire (below).
        ("took all my pills", "overdose"),
        ("took a handful of pills", "overdose"),
        ("took 30 pills", "overdose"),
        ("I think I overdosed", "overdose"),
        ("me tomé todas las pastillas", "overdose"),
        ("my kid drank some bleach", "overdose"),
        # Harm to others.
        ("I'm going to kill him", "harm-others"),
        ("voy a matar a mi esposo", "harm-others"),
        ("I'll shoot them", "harm-others"),
        ("lo voy a matar", "harm-others"),
        # Medical emergencies.
        ("Chest pain since I got home", "medical-emergency"),
        ("my chest hurts", "medical-emergency"),
        ("trouble breathing", "medical-emergency"),
        ("I fainted in the bathroom", "medical-emergency"),
        ("he had a seizure", "medical-emergency"),
        ("her face is drooping", "medical-emergency"),
        ("slurred speech and my left arm is weak", "medical-emergency"),
        ("no puedo respirar", "medical-emergency"),
        # Urgent symptoms after a session.
        ("worst headache of my life", "urgent-symptom"),
        ("bp 190/110", "urgent-symptom"),
        ("my blood pressure is 185/100", "urgent-symptom"),
        ("still seeing things, hallucinating hours later", "urgent-symptom"),
        ("im confused and it hasn't passed", "urgent-symptom"),
        ("fell and hit my head", "urgent-symptom"),
        ("crashed the car on the way home", "urgent-symptom"),
        ("car accident", "urgent-symptom"),
        ("can't pee", "urgent-symptom"),
        ("no puedo orinar", "urgent-symptom"),
    ],
)
def test_crisis_language_fires_as_its_category(text, category):
    hit = screen(text)
    assert hit is not None and hit.category == category, hit


@pytest.mark.parametrize(
    "text",
    [
        "my back is killing me after the drive",
        "I could die of embarrassment lol",
        "this traffic is killing me",
        "dying to see you",
        "I killed it at work",
        "that joke killed me",
        "me muero de risa",
        "me mata el trafico",
        "dead tired",
        "the pill bottle says take two",
        "took my pills this morning as usual",
        "no chest pain",
        "no chest pain, just a headache",
        "denies any thoughts of self-harm",
        "I'm not suicidal, just tired",
        "never had suicidal thoughts",
        "no trouble breathing",
        "bp was 120/80",
        "I want it all to stop",
        "1",
        "STOP",
        "Estoy bien, gracias",
        "sin dolor de pecho",
        "my dad had a stroke last year",
    ],
)
def test_everyday_language_does_not_fire(text):
    assert screen(text) is None


@pytest.mark.parametrize(("category", "lang", "text"), [line for line in corpus_lines() if line[0] != "none"])
def test_every_must_fire_line_of_the_corpus_fires(category, lang, text):
    assert screen(text) is not None


def test_near_misses_of_the_corpus_rarely_fire():
    near_misses = [text for category, _, text in corpus_lines() if category == "none"]
    fired = [text for text in near_misses if screen(text) is not None]
    assert len(near_misses) >= 150
    assert len(fired) <= 0.05 * len(near_misses), fired


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # Indirect suicidal language, preparations, means, farewells, self-harm on the writer's own body.
        ("i see no way out except ending it", "suicide"),
        ("nobody would even notice if i was gone", "suicide"),
        ("mi familia estaria mejor si yo no estuviera", "suicide"),
        ("been googling painless ways to go", "suicide"),
        ("sitting here with my dads gun loaded", "suicide"),
        ("found a new home for my dog", "suicide"),
        ("this is my last text", "suicide"),
        ("ya me canse de vivir", "suicide"),
        ("me lastime los brazos con una navaja", "suicide"),
        # Vague objects after a strong intake verb, text-speak, household poisons, children.
        ("took all of them at once", "overdose"),
        ("me las tome todas", "overdose"),
        ("i think im oding", "overdose"),
        ("tome destapacaños", "overdose"),
        ("my toddler ate some pills i left out", "overdose"),
        # Violence in slang, and a target named by a pronoun.
        ("im gonna end him", "harm-others"),
        ("i want him dead", "harm-others"),
        ("voy a ir a buscarlo con la pistola", "harm-others"),
        ("keep picturing hurting my son", "harm-others"),
        # Chest metaphors, air hunger, someone found not moving, one side of the face.
        ("feels like an elephant sitting on my chest", "medical-emergency"),
        ("no me entra el aire", "medical-emergency"),
        ("found her on the floor not moving", "medical-emergency"),
        ("se me entumio la mitad de la cara", "medical-emergency"),
        # Counts, readings in words, a head about to burst, falls and crashes in slang, the bladder.
        ("ive thrown up like 12 times", "urgent-symptom"),
        ("systolic 196 diastolic 118", "urgent-symptom"),
        ("my head feels like its going to explode", "urgent-symptom"),
        ("wiped out on the stairs and bashed my head", "urgent-symptom"),
        ("me estrelle con el carro", "urgent-symptom"),
        ("quiero orinar y no puedo", "urgent-symptom"),
        ("me golpee la cabeza", "urgent-symptom"),
    ],
)
def test_indirect_and_slang_phrasings_fire_as_their_category(text, category):
    hit = screen(text)
    assert hit is not None and hit.category == category, hit


@pytest.mark.parametrize(
    "text",
    [
        "laughed so hard i couldnt breathe lol",
        "almost had a heart attack when i saw the bill",
        "will i feel like im going to pass out",
        "swallowing pills is hard, can i crush them",
        "me estoy ahogando en deudas jaja",
        "I took all my morning pills, as usual",
        "my grandfather died of a heart attack in 1998",
        "i fell in love with the music you played",
        "tonight is the night of the big game",
        "i dont recognize this number",
        "im going to drop my kids off at school",
        "we crushed it at the game yesterday",
    ],
)
def test_hyperbole_questions_and_history_do_not_fire(text):
    assert screen(text) is None


def test_a_negation_covers_only_the_next_few_words_of_its_clause():
    assert screen("not sure if I want to die") is not None
    assert screen("no, I want to kill myself") is not None
    assert screen("no chest pain but I can't breathe") is not None
    assert screen("no thoughts of suicide") is None
    assert screen("no " + "okay " * 10 + "suicidal") is not None
    # Filler words neither end a negation's scope nor count towards it.
    assert screen("no " + "really " * 10 + "suicidal") is None


@pytest.mark.parametrize(
    ("plain", "with_fillers"),
    [
        ("not sure i can keep going", "not really sure i can keep going honestly"),
        ("i want to die", "i literally just kinda want to die tbh"),
        ("i do not want to live", "i honestly dont even want to live"),
        ("no quiero vivir", "la verdad pues ya no quiero vivir"),
        ("no se si pueda seguir", "neta no se si pueda seguir"),
        ("i can't breathe", "i really actually can't breathe"),
        ("took all my pills", "took like all my pills"),
        ("im going to kill him", "im totally gonna kill him"),
    ],
)
def test_filler_words_neither_break_nor_fill_a_phrase(plain, with_fillers):
    hit, filled = screen(plain), screen(with_fillers)
    assert hit is not None and filled is not None and filled.category == hit.category, (hit, filled)


@pytest.mark.parametrize(
    "text",
    [
        "sin dolor de pecho, sin falta de aire, todo tranquilo",
        "no chest pain, no shortness of breath, feeling good",
        "denies chest pain or trouble breathing",
        "without any chest pain today",
        "nunca tuve convulsiones ni desmayos",
        "no signs of confusion, no headache",
        "sin dolor de cabeza ni vomito",
    ],
)
def test_a_negation_denies_every_concept_of_its_list_multi_word_ones_included(text):
    assert screen(text) is None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("no quiero vivir", "suicide"),
        ("I don't want to live", "suicide"),
        ("can't breathe", "medical-emergency"),
        ("no puedo respirar", "medical-emergency"),
        ("no chest pain but I can't breathe", "medical-emergency"),
    ],
)
def test_a_negation_that_is_part_of_a_crisis_phrase_still_fires(text, category):
    hit = screen(text)
    assert hit is not None and hit.category == category, hit


@pytest.mark.parametrize(
    "text",
    [
        "voy a matar a ese desgraciado si vuelve a aparecer",
        "vamos a matar al que me robo",
        "quiero golpear a mi cunado",
        "pienso matarlo esta noche",
        "si lo veo le meto un balazo",
        "im going to stab that guy at work",
        "i want to strangle my roommate",
        "gonna beat the shit outta my neighbor tonight no joke",
        "i keep picturing choking my girlfriend",
        "i have these images of hurting my baby",
        "going to burn my exs house down with him in it",
        "keep thinking about running my ex off the road",
    ],
)
def test_intent_a_violent_act_and_someone_else_is_harm_to_others(text):
    hit = screen(text)
    assert hit is not None and hit.category == "harm-others", hit


@pytest.mark.parametrize(
    "text",
    [
        "im gonna kill my brother if hes late again 😂 jk",
        "lo mato a mi hermano si llega tarde jaja es broma",
        "gonna kill my sister if she takes my charger again lol",
        "im going to kill the lights and go to bed",
        "gonna shoot a video for my mom later",
        "voy a matar el tiempo en el cafe",
        "im going to hurt my back lifting these boxes",
    ],
)
def test_violent_words_in_jokes_and_idioms_are_not_harm_to_others(text):
    assert screen(text) is None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("theres no reason for me to stay here", "suicide"),
        ("no reason for me to be here anymore", "suicide"),
        ("i dont see the point of waking up tomorrow", "suicide"),
        ("llevo dias pensando que lo mejor seria ya no estar", "suicide"),
        ("i looked up how tall the parking garage is", "suicide"),
        ("busque que tan alto es el puente", "suicide"),
        ("i stood on the bridge for an hour last night", "suicide"),
        ("ran a bath and took a razor in with me", "suicide"),
        ("ive got it figured out, doing it friday", "suicide"),
        ("my last attempt was 2 years ago but tonight is bad like that night", "suicide"),
        ("ya no puedo con esta vida", "suicide"),
        ("my 3yo got into the dishwasher pods", "overdose"),
        ("my toddler swallowed a button battery", "overdose"),
        ("mi hija se trago detergente", "overdose"),
        ("me acabo de tomar el frasco de tylenol", "overdose"),
        ("me tome las pastillas de mi mama toditas", "overdose"),
        ("my roommate ODd i think, do we have narcan", "overdose"),
        ("moms still talking nonsense hours later", "urgent-symptom"),
    ],
)
def test_generic_structures_of_suicide_overdose_and_lasting_confusion_fire(text, category):
    hit = screen(text)
    assert hit is not None and hit.category == category, hit


@pytest.mark.parametrize(
    "text",
    [
        "the pharmacist said the new pills can cause seizures in rare cases, should i worry?",
        "read that ketamine can cause bladder problems if used a lot",
        "el doctor dijo que la ketamina puede causar presion alta",
        "my mom keeps saying ill die if i keep doing ketamine",
        "mi mama dice que me voy a morir si sigo con la ketamina",
        "had a dream i was dying, weird ketamine dreams huh",
        "we watched a documentary about overdoses in our town",
        "vimos un documental sobre sobredosis",
        "shot myself in the foot with that late cancel",
        "drop dead gorgeous day",
        "i feel like im going to die if i have to sit through one more zoom meeting",
        "i literally wanted the floor to swallow me when i tripped at the front desk lol",
        "cant make it thursday, car broke down",
        "i feel like a burden asking but can you fax the letter again",
    ],
)
def test_reported_risks_dreams_media_idioms_logistics_and_requests_do_not_fire(text):
    assert screen(text) is None


def test_laughing_emoji_count_as_laughter():
    assert screen("literally could not breathe \U0001f602\U0001f602") is None
    assert screen("literally could not breathe") is not None
    assert screen("i want to die \U0001f602") is not None  # laughter silences only weak rules


def test_a_symptom_settled_right_after_it_does_not_fire_but_one_settled_before_does():
    assert screen("chest felt tight before the session, the nurse checked me and i was fine") is None
    assert screen("i was fine this morning, now my chest is tight and hurts") is not None


def test_someone_elses_suicide_long_ago_does_not_fire_but_the_patients_own_history_does():
    assert screen("my uncle died by suicide when i was a teen") is None
    assert screen("my brother killed himself last night") is not None
    assert screen("i attempted suicide when i was a teen") is not None


def test_harm_to_someone_else_is_not_read_as_the_victims_emergency():
    assert screen("i have thoughts about drowning my newborn").category == "harm-others"
    assert screen("im bout to beat his ass so bad he wont wake up").category == "harm-others"
    assert screen("le pegue a otro carro de regreso").category == "urgent-symptom"


def test_the_most_urgent_category_wins_and_screen_all_lists_each_once_in_priority_order():
    text = "I want to kill myself and I have chest pain, took all my pills"
    assert [hit.category for hit in screen_all(text)] == ["overdose", "medical-emergency", "suicide"]
    assert screen(text) == screen_all(text)[0]
    assert set(PRIORITY) == set(CATEGORIES)


def test_a_hit_is_a_frozen_category_and_phrase():
    hit = screen("I want to die")
    assert isinstance(hit, CrisisHit) and hit.category == "suicide" and "die" in hit.phrase
    with pytest.raises(FrozenInstanceError):
        hit.category = "none"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Means and death in words no rule lists, about the writer: the safety net fires.
        ("put the rope in my trunk", "suicide"),
        ("bought a gun today. not for protection", "suicide"),
        ("hung a belt in the closet last night", "suicide"),
        ("sat in the garage with the car running", "suicide"),
        ("i wanna step in front of the train", "suicide"),
        ("looking up how many of my sleeping pills it would take", "suicide"),
        ("relapsed on the cutting, deeper than before", "suicide"),
        ("its my last night, thank u for everything", "suicide"),
        ("i have a plan this time", "suicide"),
        ("he'd be free if i was gone", "suicide"),
        ("pienso mucho en no despertar", "suicide"),
        ("my son drank something from under the sink", "overdose"),
        ("me empastillé", "overdose"),
        ("my boss is going to pay. i know where he parks and my gun is in the car", "harm-others"),
        ("im going to shoot up my old job", "harm-others"),
        # ...and does not when an exception explains the words.
        ("my grandmother died last week, can we move my appointment", None),
        ("there was a guy jumping off a bridge in the movie and it didnt bother me, progress!", None),
        ("this weather makes me want to die \U0001f975", None),
        ("thats hilarious im dying \U0001f480", None),
        ("im dead tired, will reply tomorrow", None),
        ("my phone is dead, call me later", None),
        ("the intake form asks if i have thoughts of harming myself, i dont", None),
        ("my mom attempted suicide when i was a teen, is that family history a problem?", None),
        ("lol im gonna kill my sister she ate my leftovers", None),
    ],
)
def test_the_safety_net_fires_on_means_named_in_other_words_unless_an_exception_applies(text, expected):
    hit = screen(text)
    assert (hit.category if hit else None) == expected, hit


def test_the_safety_net_is_read_only_when_no_rule_fired():
    # A rule's hit stands alone: the net adds no second category to it.
    assert [hit.category for hit in screen_all("chest pain and a rope in my trunk")] == ["medical-emergency"]
    assert screen("put the rope in my trunk") is not None


@pytest.mark.parametrize(
    "text",
    [
        "sui thoughts are back since tuesday",
        "no hope left... this was the last thing and its not working either",
        "im done. tell everyone im sorry",
        "final message i guess. take care of yourselves",
        "goodbye dr m, thank u for trying",
        "hoy es el ultimo dia, gracias por todo doctora",
        "busqué en google como cortarse las venas",
        "razor blades are out on the bathroom counter, just looking at them",
        "i have everything ready. the note, the pills, i just need to pick a day",
        "kinda hoping something hits me",
        "thinking of just steering into the median",
        "i need someone to stop me from doing something stupid tonight",
        "i dont see a future",
        "if this round doesnt work im checking out for good",
        "my brothers gun is in the garage and i keep thinking about it",
        "last year i attempted and this feels like the same headspace",
        "ya no le veo sentido a nada, mejor desaparecer para siempre",
    ],
)
def test_the_risk_score_fires_on_cues_that_add_up_to_suicide_risk(text):
    hit = screen(text)
    assert hit is not None and hit.category == "suicide"


@pytest.mark.parametrize(
    "text",
    [
        "im done with the forms, sorry for the delay",
        "thank you for everything, see you thursday",
        "lol i googled how to cook rice last night",
        "i do not have a gun and never would",
        "feeling so much better, thank you for everything",
        "my friend has a gun collection and is thinking of selling it",
        "my mom fainted once getting blood drawn",
        "mi mama se desmayo una vez en el hospital por la aguja",
        "my cat keeps throwing up hairballs",
        "mi perro vomitó toda la noche pobrecito, pero yo bien",
        "the form asks if ive ever had suicidal thoughts, do i answer for the last 2 weeks or ever?",
        "my mom keeps asking if im going to hurt myself, im not",
    ],
)
def test_logistics_progress_denials_pets_and_questions_put_to_the_writer_do_not_fire(text):
    assert screen(text) is None


def test_one_risk_cue_alone_does_not_fire_but_two_families_together_do():
    assert screen("thank you for everything") is None
    assert screen("goodbye") is None
    assert screen("goodbye, thank you for everything") == CrisisHit(
        "suicide", "goodbye thank you for everything"
    )


def test_the_risk_score_ignores_cues_in_a_clause_about_someone_else_without_the_writer():
    assert screen("my cousin keeps thinking about the bridge tonight") is None
    assert screen("i keep thinking about the bridge tonight") is not None


def test_someone_elses_single_past_faint_is_history_but_the_writers_own_faint_is_not():
    assert screen("my mom fainted once getting blood drawn") is None
    assert screen("i fainted after the session") is not None


# --- Linear time --------------------------------------------------------------------------------------
# Work is counted in function calls (tests/workcount.py), the same on every machine; the seconds
# per body are measured by `make bench` (benchmark 7), beside an ordinary text of the same length.

BODY = 1600
WORST_RATIO = 6  # an adversarial body may cost this many times an ordinary text of its length
PLAIN = "Thanks so much, see you on Tuesday at ten. My ride is my sister and I will skip breakfast as told. "


def _entries(concept: str) -> list[str]:
    spec = lex.CONCEPTS.get(concept) or lex.RISK_CONCEPTS.get(concept) or "190/110 185 over 120 10/10"
    return [e.strip() for e in spec.split(",") if e.strip()][:4]


def _fill(unit: str, size: int = BODY) -> str:
    return (unit * (size // max(len(unit), 1) + 1))[:size]


def adversarial_bodies() -> list[str]:
    """1,600-character bodies: every rule's words repeated, with negations, and pathological runs."""
    bodies = []
    for rule in (*lex.RULES, *lex.NET_RULES):
        unit = " ".join(word for concept in rule.parts for word in _entries(concept)) + " "
        bodies += [_fill(unit), _fill("no " + unit), _fill("not " + unit.replace(" ", ", "))]
    for concept in (*lex.CONCEPTS, *lex.RISK_CONCEPTS):
        bodies.append(_fill(" ".join(_entries(concept)) + " "))
    # Every risk family's words together, plain and under negations: the score reads every cue.
    risk = " ".join(word for concept in lex.RISK_CONCEPTS for word in _entries(concept)) + " "
    bodies += [
        _fill(risk),
        _fill("no " + risk.replace(" ", " no ")),
        _fill("my mom " + risk.replace(" ", ", ")),
    ]
    bodies += [
        "no" + " ideas" * 300 + " x suicide",
        _fill("no ideas of "),
        _fill("not "),
        _fill("a"),
        _fill(" "),
        _fill("1"),
        _fill("190/"),
        _fill("1/1/"),
        _fill("/"),
        _fill("'"),
        _fill("ñá日本ж😀"),
        _fill("suicidle "),
        _fill("qwertyu "),
        " ".join(f"zq{i}xwvk" for i in range(200))[:BODY],
    ]
    return bodies


def test_no_adversarial_body_costs_more_than_a_few_ordinary_texts_of_its_length():
    screen("warm the tables up")
    ordinary = calls_made(screen, _fill(PLAIN))
    costly = {
        body[:40]: round(calls_made(screen, body) / ordinary, 1)
        for body in adversarial_bodies()
        if len(body) == BODY
    }
    assert not {start: ratio for start, ratio in costly.items() if ratio > WORST_RATIO}, costly


@pytest.mark.parametrize(
    "unit",
    [
        "no ideas of chest pain but took all my pills ",
        "not 190/110 ",
        "suicidal " * 3,
        "qwe ",
        "gun guns pistol rifle ",
        PLAIN,
    ],
)
def test_ten_times_the_text_is_about_ten_times_the_work(unit):
    small = calls_made(screen, _fill(unit, BODY))
    large = calls_made(screen, _fill(unit, 10 * BODY))
    assert 5 * small <= large <= 12 * small, (small, large)


def test_a_long_message_is_screened_whole():
    assert screen("ok " * 5000 + "i want to kill myself") is not None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("everyone would be better off w/o me", "suicide"),
        ("honestly idk why im even still here, everybody would be better off w/out me", "suicide"),
        ("bp 190/110 w/ a pounding headache", "urgent-symptom"),
    ],
)
def test_slash_abbreviations_read_as_words(text, category):
    hit = screen(text)
    assert hit is not None and hit.category == category


@pytest.mark.parametrize("text", ["im fine w/o my glasses lol", "b/c of traffic ill be 10 min late"])
def test_slash_abbreviations_in_everyday_texts_do_not_fire(text):
    assert screen(text) is None
