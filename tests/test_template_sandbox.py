"""Templates are untrusted code (admins edit them from the web): they can neither change what
they are given nor spend the process's time or memory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from service.templates import MessageTemplates, TemplateError

CONTEXT = {"clinic": {"name": "Clinic"}, "items": [1, 2, 3]}


def templates_with(text: str) -> MessageTemplates:
    return MessageTemplates(Path("messages"), overlays={"probe/en/sms.txt": text})


def render(text: str, context: dict | None = None) -> str:
    return templates_with(text).render("probe", "sms", "en", context or dict(CONTEXT)).body


@pytest.mark.parametrize(
    "text",
    [
        "{{ (9**(9**8)) > 1 }}",
        "{{ 2 ** 100000 }}",
        "{{ 10 ** 70 }}",
        "{{ 'x' * 1000000000 }}",
        "{{ [0] * 100000000 }}",
        "{% set x = 10**60 %}{{ x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x }}",
        "{% for i in range(10000000) %}x{% endfor %}",
    ],
)
def test_huge_arithmetic_and_ranges_are_refused_at_once(text):
    started = time.perf_counter()
    with pytest.raises(TemplateError):
        render(text)
    assert time.perf_counter() - started < 1.0


def test_nested_loops_stop_at_the_render_time_budget():
    text = (
        "{% for a in range(10000) %}{% for b in range(10000) %}"
        "{% for c in range(10000) %}{{ c }}{% endfor %}{% endfor %}{% endfor %}"
    )
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="too long"):
        render(text)
    assert time.perf_counter() - started < 5.0


@pytest.mark.parametrize(
    "text",
    [
        "{{ clinic.update({'name': 'Evil'}) }}",
        "{{ items.append(4) }}",
        "{{ items.pop() }}",
        "{{ clinic.clear() }}",
    ],
)
def test_a_template_cannot_change_its_context(text):
    context = {"clinic": {"name": "Clinic"}, "items": [1, 2, 3]}
    with pytest.raises(TemplateError):
        render(text, context)
    assert context == {"clinic": {"name": "Clinic"}, "items": [1, 2, 3]}


def test_ordinary_arithmetic_and_loops_still_work():
    text = "{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ 6 * 7 }} {% for i in range(3) %}{{ i }}{% endfor %}"
    assert render(text) == "1024 ababab 42 012"
