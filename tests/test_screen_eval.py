"""`interlude screen-eval`: the crisis screen measured on the labelled corpus."""

from __future__ import annotations

import pytest

from service.web import create_app
from tests.helpers import cli_runner, make_services


@pytest.fixture
def runner(sqlite_url, clock):
    app = create_app(services=make_services(sqlite_url, clock))
    return cli_runner(app)


def test_the_screen_meets_the_bar_on_the_repository_corpus(runner):
    r = runner.invoke(args=["screen-eval"])
    assert r.exit_code == 0, r.output
    for category in ("suicide", "overdose", "harm-others", "medical-emergency", "urgent-symptom"):
        assert f"{category} " in r.output
    assert "100.0 %" in r.output and "false alarms" in r.output


def test_a_miss_a_false_alarm_and_a_different_category_are_listed_and_a_miss_fails(runner, tmp_path):
    corpus = tmp_path / "corpus.tsv"
    corpus.write_text(
        "# a tiny corpus\n"
        "suicide\ten\ti want to die\n"
        "suicide\ten\tthe weather is nice today\n"
        "suicide\ten\ti took all my pills\n"
        "none\ten\tI think I'm having a heart attack\n"
        "none\ten\tsee you tuesday\n",
        encoding="utf-8",
    )
    r = runner.invoke(args=["screen-eval", "--corpus", str(corpus)])
    assert r.exit_code == 1, r.output
    assert "miss: line 3 [suicide, en] the weather is nice today" in r.output
    assert "false alarm: line 5 [en] I think I'm having a heart attack -> medical-emergency" in r.output
    assert "category differs: line 4 [suicide, en] i took all my pills -> overdose" in r.output
    assert "FAIL" in r.output


def test_too_many_false_alarms_fail_even_with_full_recall(runner, tmp_path):
    corpus = tmp_path / "corpus.tsv"
    corpus.write_text("suicide\ten\ti want to die\nnone\ten\tchest pain\nnone\ten\tok\n", encoding="utf-8")
    r = runner.invoke(args=["screen-eval", "--corpus", str(corpus)])
    assert r.exit_code == 1 and "false alarms 1 (50.0 %" in r.output, r.output


def test_a_missing_or_malformed_corpus_is_a_clear_error(runner, tmp_path):
    r = runner.invoke(args=["screen-eval", "--corpus", str(tmp_path / "nowhere.tsv")])
    assert r.exit_code == 2 and "corpus not found" in r.output
    bad = tmp_path / "bad.tsv"
    bad.write_text("suicid\ten\ti want to die\n", encoding="utf-8")
    r = runner.invoke(args=["screen-eval", "--corpus", str(bad)])
    assert r.exit_code != 0 and "bad.tsv:1" in r.output
