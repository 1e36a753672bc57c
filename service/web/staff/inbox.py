"""Inbox: what patients sent that needs a person; crisis and concerning messages pinned at the
top in red with their escalation's state, the rest oldest first; mark handled or answer by text.

An answer is a prepared template or free text, sent only while the patient consents to SMS,
and queued for the same dispatcher as every other message (which checks consent again).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ...services.errors import Conflict, InvalidInput
from ...services.replies import inbound as replies
from ...services.replies import inbox
from ...services.views import today
from ..access import parse_id, services
from . import common

bp = Blueprint("inbox", __name__)
FREE = "free"
# The key under which a refused answer is kept for the next GET (common.kept_form).
ANSWER_FORM = "inbox-answer"


def _page(
    items: list[dict[str, Any]],
    errors: dict[int, dict[str, str]] | None = None,
    form: dict[int, dict[str, str]] | None = None,
) -> str:
    return render_template(
        "staff/inbox/index.html",
        nav="inbox",
        items=items,
        errors=errors or {},
        form=form or {},
        free=FREE,
        refresh=not errors,  # a reload would drop the refused answer kept for this one view
        max_chars=replies.ANSWER_MAX,
    )


@bp.get("/inbox")
def index() -> Any:
    form, errors = common.kept_form(ANSWER_FORM)
    item_id = form.pop("item_id", None)
    if not isinstance(item_id, int) or not errors:
        return _page(today.inbox_items(services()))
    return _page(today.inbox_items(services()), {item_id: errors}, {item_id: form})


@bp.post("/inbox/<ident>/handled")
def handled(ident: str) -> Any:
    item_id = parse_id(ident)
    app = services()
    today.inbox_item(app, item_id)  # 404 for an id that is not there
    try:
        inbox.mark_handled(app, item_id, by=common.actor())
    except Conflict as exc:
        flash(f"Not marked handled: {exc}.", "error")
        return redirect(url_for("staff.inbox.index"))
    flash("Marked handled.")
    return redirect(url_for("staff.inbox.index"))


@bp.post("/inbox/<ident>/reply")
def reply(ident: str) -> Any:
    item_id = parse_id(ident)
    app = services()
    choice = request.form.get("choice", FREE)
    text = request.form.get("text", "")
    try:
        sent = replies.answer_inbound(
            app,
            item_id,
            common.actor(),
            template=None if choice == FREE else choice,
            text=text if choice == FREE else None,
        )
    except InvalidInput as exc:
        items = today.inbox_items(app)
        if all(i["id"] != item_id for i in items):  # handled meanwhile: no form for the error to sit by
            flash("Not sent: " + "; ".join(exc.errors.values()), "error")
            return redirect(url_for("staff.inbox.index"))
        kept = {"item_id": item_id, "choice": choice, "text": text[: replies.ANSWER_MAX + 1]}
        url = url_for("staff.inbox.index", _anchor=f"item-{item_id}")
        return common.back_with_errors(ANSWER_FORM, kept, exc.errors, url)
    except Conflict as exc:
        flash(f"Not sent: {exc}.", "error")
        return redirect(url_for("staff.inbox.index"))
    if sent["due_at"] > app.clock():
        when = common.when(sent["due_at"])
        flash(f"Answer queued: it is quiet hours for the patient, so it goes out at {when}.")
    else:
        flash("Answer sent to the outbox; it goes out by text within seconds.")
    return redirect(url_for("staff.inbox.index"))
