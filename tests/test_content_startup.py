"""Edits saved in one process reach another process's web requests; a stale edit never stops a start."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import insert

from service.bootstrap import build
from service.db.tables import content_versions
from service.services.content import edits as content
from service.web import create_app

from .helpers import T0, make_config, make_services

PATH = "reply_help/en/sms.txt"


def test_a_web_process_picks_up_a_template_edit_saved_elsewhere(db_url, clock):
    editor = make_services(db_url, clock)
    web = build(make_config(db_url), clock=clock)
    app = create_app(web.config, services=web)
    text = editor.templates.source(PATH).replace("Msg frequency varies", "Msg frequency varies (edited)")
    assert text != editor.templates.source(PATH)
    content.save_template(editor, PATH, text, actor="test")
    assert not web.templates.is_edited(PATH)
    clock.advance(timedelta(seconds=2))
    assert app.test_client().get("/healthz").status_code in (200, 503)
    assert web.templates.is_edited(PATH)
    assert "(edited)" in web.templates.source(PATH)
    web.engine.dispose()
    editor.engine.dispose()


def test_an_edit_that_no_longer_applies_is_logged_and_the_shipped_content_runs(db_url, clock, caplog):
    services = make_services(db_url, clock)
    with services.engine.begin() as conn:
        conn.execute(
            insert(content_versions).values(
                kind="step",
                name="default:a_step_removed_in_a_later_release",
                version=1,
                body='{"id": "a_step_removed_in_a_later_release"}',
                actor="test",
                created_at=T0,
            )
        )
    with caplog.at_level(logging.ERROR, logger="interlude"):
        again = build(services.config, clock=clock)
    assert "saved content edits do not apply" in caplog.text
    assert again.schedules["default"].step("prep_evening_before")
    again.engine.dispose()
    services.engine.dispose()
