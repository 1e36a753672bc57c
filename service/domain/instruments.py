"""The questionnaires a measure step sends (PHQ-9, GAD-7, PCL-5) as data, and their scoring.

Each item keeps its instrument's validated wording, in English and in the official Spanish
version where one exists (PCL-5: English only). Sources and permissions: messages/SOURCES.md.
Scoring is the published one: the sum of the items, and a severity band per total.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MEASURES = ("phq9", "gad7", "pcl5")
# The PHQ-9 item whose answer above 0 (any thought of being better off dead or of self-harm)
# is a safety flag: 988 and 911 on the page at once, and an escalation.
SAFETY_ITEM = {"phq9": 9}
SAFETY_FLAG = "item9"


@dataclass(frozen=True)
class Instrument:
    key: str
    name: str
    stem: Mapping[str, str]
    options: Mapping[str, tuple[str, ...]]  # label per score 0..n, by language
    items: Mapping[str, tuple[str, ...]]  # by language
    bands: tuple[tuple[int, int, str], ...]  # (low, high, band), inclusive

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.items)

    @property
    def max_answer(self) -> int:
        return len(self.options["en"]) - 1

    @property
    def max_total(self) -> int:
        return self.max_answer * len(self.items["en"])

    def language_for(self, language: str) -> str:
        """The language the questionnaire is shown in: the patient's, else English."""
        return language if language in self.items else "en"


_FREQUENCY_EN = ("Not at all", "Several days", "More than half the days", "Nearly every day")
_FREQUENCY_ES = ("Ningún día", "Varios días", "Más de la mitad de los días", "Casi todos los días")

PHQ9 = Instrument(
    key="phq9",
    name="PHQ-9",
    stem={
        "en": "Over the last 2 weeks, how often have you been bothered by any of the following problems?",
        "es": "Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias debido a los siguientes problemas?",
    },
    options={"en": _FREQUENCY_EN, "es": _FREQUENCY_ES},
    items={
        "en": (
            "Little interest or pleasure in doing things",
            "Feeling down, depressed, or hopeless",
            "Trouble falling or staying asleep, or sleeping too much",
            "Feeling tired or having little energy",
            "Poor appetite or overeating",
            "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
            "Trouble concentrating on things, such as reading the newspaper or watching television",
            "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so "
            "fidgety or restless that you have been moving around a lot more than usual",
            "Thoughts that you would be better off dead or of hurting yourself in some way",
        ),
        "es": (
            "Poco interés o placer en hacer cosas",
            "Se ha sentido decaído(a), deprimido(a) o sin esperanzas",
            "Ha tenido dificultad para quedarse o permanecer dormido(a), o ha dormido demasiado",
            "Se ha sentido cansado(a) o con poca energía",
            "Sin apetito o ha comido en exceso",
            "Se ha sentido mal con usted mismo(a) – o que es un fracaso o que ha quedado mal con usted "
            "mismo(a) o con su familia",
            "Ha tenido dificultad para concentrarse en ciertas actividades, tales como leer el periódico o "
            "ver la televisión",
            "¿Se ha movido o hablado tan lento que otras personas podrían haberlo notado? o lo contrario – "
            "muy inquieto(a) o agitado(a) que ha estado moviéndose mucho más de lo normal",
            "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera",
        ),
    },
    bands=(
        (0, 4, "minimal"),
        (5, 9, "mild"),
        (10, 14, "moderate"),
        (15, 19, "moderately severe"),
        (20, 27, "severe"),
    ),
)

GAD7 = Instrument(
    key="gad7",
    name="GAD-7",
    stem={
        "en": "Over the last 2 weeks, how often have you been bothered by the following problems?",
        "es": "Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias debido a los siguientes problemas?",
    },
    options={"en": _FREQUENCY_EN, "es": _FREQUENCY_ES},
    items={
        "en": (
            "Feeling nervous, anxious, or on edge",
            "Not being able to stop or control worrying",
            "Worrying too much about different things",
            "Trouble relaxing",
            "Being so restless that it is hard to sit still",
            "Becoming easily annoyed or irritable",
            "Feeling afraid, as if something awful might happen",
        ),
        "es": (
            "Se ha sentido nervioso(a), ansioso(a) o con los nervios de punta",
            "No ha sido capaz de parar o controlar su preocupación",
            "Se ha preocupado demasiado por motivos diferentes",
            "Ha tenido dificultad para relajarse",
            "Se ha sentido tan inquieto(a) que no ha podido quedarse quieto(a)",
            "Se ha molestado o irritado fácilmente",
            "Ha tenido miedo de que algo terrible fuera a pasar",
        ),
    },
    bands=((0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")),
)

# The provisional cut point: a total of 33 or more suggests probable PTSD (National Center for
# PTSD, which cites 31-33; 33 is the value Bovin et al. 2016 found in veterans).
PCL5_CUT_POINT = 33

PCL5 = Instrument(
    key="pcl5",
    name="PCL-5",
    stem={
        "en": "Below is a list of problems that people sometimes have in response to a very stressful "
        "experience. Please read each problem carefully and then choose one of the answers to indicate "
        "how much you have been bothered by that problem in the past month. In the past month, how much "
        "were you bothered by:",
    },
    options={"en": ("Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely")},
    items={
        "en": (
            "Repeated, disturbing, and unwanted memories of the stressful experience?",
            "Repeated, disturbing dreams of the stressful experience?",
            "Suddenly feeling or acting as if the stressful experience were actually happening again (as if "
            "you were actually back there reliving it)?",
            "Feeling very upset when something reminded you of the stressful experience?",
            "Having strong physical reactions when something reminded you of the stressful experience (for "
            "example, heart pounding, trouble breathing, sweating)?",
            "Avoiding memories, thoughts, or feelings related to the stressful experience?",
            "Avoiding external reminders of the stressful experience (for example, people, places, "
            "conversations, activities, objects, or situations)?",
            "Trouble remembering important parts of the stressful experience?",
            "Having strong negative beliefs about yourself, other people, or the world (for example, having "
            "thoughts such as: I am bad, there is something seriously wrong with me, no one can be trusted, "
            "the world is completely dangerous)?",
            "Blaming yourself or someone else for the stressful experience or what happened after it?",
            "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
            "Loss of interest in activities that you used to enjoy?",
            "Feeling distant or cut off from other people?",
            "Trouble experiencing positive feelings (for example, being unable to feel happiness or have "
            "loving feelings for people close to you)?",
            "Irritable behavior, angry outbursts, or acting aggressively?",
            "Taking too many risks or doing things that could cause you harm?",
            'Being "superalert" or watchful or on guard?',
            "Feeling jumpy or easily startled?",
            "Having difficulty concentrating?",
            "Trouble falling or staying asleep?",
        ),
    },
    bands=((0, PCL5_CUT_POINT - 1, "below cut point"), (PCL5_CUT_POINT, 80, "probable PTSD")),
)

INSTRUMENTS: dict[str, Instrument] = {i.key: i for i in (PHQ9, GAD7, PCL5)}


class MeasureError(ValueError):
    """An answer a questionnaire does not take; the message names the item and the value."""


@dataclass(frozen=True)
class Score:
    total: int
    band: str
    flags: tuple[str, ...]


def check_answer(instrument: Instrument, item: int, value: int) -> None:
    """Raise MeasureError unless `item` (1-based) and `value` are one of the instrument's."""
    if not 1 <= item <= len(instrument.items["en"]):
        raise MeasureError(f"{instrument.name}: no item {item}")
    if not 0 <= value <= instrument.max_answer:
        raise MeasureError(
            f"{instrument.name} item {item}: expected 0 to {instrument.max_answer}, got {value}"
        )


def band_of(instrument: Instrument, total: int) -> str:
    for low, high, band in instrument.bands:
        if low <= total <= high:
            return band
    raise MeasureError(f"{instrument.name}: total {total} is outside 0 to {instrument.max_total}")


def flags_of(instrument: Instrument, answers: Mapping[int, int]) -> tuple[str, ...]:
    """The safety flags the answers so far raise: PHQ-9 item 9 above 0."""
    item = SAFETY_ITEM.get(instrument.key)
    return (SAFETY_FLAG,) if item is not None and answers.get(item, 0) > 0 else ()


def score(instrument: Instrument, answers: Mapping[int, int]) -> Score:
    """Total, band and flags of a complete set of answers (item number -> 0..max)."""
    count = len(instrument.items["en"])
    missing = [n for n in range(1, count + 1) if n not in answers]
    if missing:
        raise MeasureError(f"{instrument.name}: items {missing} are not answered")
    for item, value in answers.items():
        check_answer(instrument, item, value)
    total = sum(answers.values())
    return Score(total, band_of(instrument, total), flags_of(instrument, answers))


def worsened(instrument: Instrument, previous: int | None, total: int, points: int) -> bool:
    """True when `total` is `points` or more above the previous total (higher is worse)."""
    return previous is not None and points > 0 and total - previous >= points


# The bands a clinician should see at once (the Today page's "new concerning results"): PHQ-9
# moderately severe and severe, GAD-7 severe, PCL-5 at or above the cut point.
CONCERNING_BANDS = frozenset({"moderately severe", "severe", "probable PTSD"})


def concerning(band: str | None, flags: tuple[str, ...] | list[str], worsening_open: bool = False) -> bool:
    """True for a result a clinician should see at once: a safety flag (PHQ-9 item 9 above 0), a
    concerning band, or a worsening whose task is still open."""
    return bool(flags) or band in CONCERNING_BANDS or worsening_open
