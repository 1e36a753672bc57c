"""The Import page (admins): sessions and their patients from a clinic's CSV export.

Upload -> preview -> apply -> result, each step its own URL (Post/Redirect/Get: a reload never
imports again). The upload is kept on the server, never sent back through the browser: its bytes
go to a directory of its own under the instance folder (`imports/<token>/`), named by a random
token that is also kept in the signed staff cookie and bound to the account that uploaded it, so
apply reads exactly the bytes the preview read, and no one else's. The uploaded files are deleted
once applied; what is left (the counts and the error CSV of the preview and the result, which may
hold patients' details) is deleted an hour after the upload, like an upload never applied. The
files together may be at most `[imports] max_upload_mb` (a larger upload is refused with 413
before it is read); the command line (`interlude import`) takes any size.

The import runs within the request, and the page shows the counts when it is done: 10,000 rows
take about 15 s to apply (the preview, a dry run, under a second; bench/b9_csv_import.py), within
any proxy's timeout, and a background job would need a worker queue and a polling page for no
gain at a clinic's size. The command line shows a progress bar.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from ...services.imports_csv import ImportRefused, ImportReport, run_import
from ..access import services
from . import common

bp = Blueprint("imports", __name__)
UPLOAD = "import-upload"  # the key under which a refused upload is kept (common.kept_form)
LABELS = {"sessions_file": "Sessions file", "patients_file": "Patients file"}
KEEP_SECONDS = 3600
SHOWN_ERRORS = 200  # bad rows listed on the page; the error CSV has them all
_TOKEN = re.compile(r"[0-9a-f]{32}")
_SESSION_KEY = "imports"
_TOKENS_KEPT = 5
# Room for the form's other fields and the multipart framing beyond the files themselves.
_FORM_OVERHEAD = 64 * 1024
# The counts shown, in order: (key in the summary, label).
COUNTS = (
    ("patients_created", "New patients"),
    ("patients_updated", "Patients updated"),
    ("created", "New sessions"),
    ("rescheduled", "Rescheduled"),
    ("cancelled", "Cancelled"),
    ("sync_cancelled", "Cancelled: gone from the file"),
    ("no-show", "Marked no-show"),
    ("completed", "Marked completed"),
    ("unchanged", "Unchanged"),
    ("bad_rows", "Rows refused"),
)


def _limit_bytes() -> int:
    return int(services().config.imports.max_upload_mb) * 1024 * 1024


@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Runs before the staff guard reads the form (for its CSRF token): the app's 1 MB limit for
    # every other request becomes the import limit for an upload, so a larger body is never read.
    if endpoint == "staff.imports.upload" and request.method == "POST":
        request.max_content_length = _limit_bytes() + _FORM_OVERHEAD


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> Any:
    errors = {"sessions_file": _too_big_message()}
    return render_template("staff/imports/index.html", errors=errors, form={}, **_page()), 413


def _too_big_message() -> str:
    mb = services().config.imports.max_upload_mb
    return (
        f"the files are larger than the Import page takes ({mb} MB together): split the file "
        "by date, or import it on the server with `interlude import`"
    )


def _page() -> dict[str, Any]:
    return {
        "nav": "import",
        "labels": LABELS,
        "counts": COUNTS,
        "max_mb": services().config.imports.max_upload_mb,
    }


# --- the uploads on disk -----------------------------------------------------------------------


def _root() -> Path:
    configured = current_app.config.get("INTERLUDE_IMPORT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "imports"


def _sweep(root: Path) -> None:
    """Delete every upload (and result) older than an hour."""
    if not root.is_dir():
        return
    cutoff = time.time() - KEEP_SECONDS
    for entry in root.iterdir():
        try:
            if entry.is_dir() and _TOKEN.fullmatch(entry.name) and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


def _new_upload() -> tuple[str, Path]:
    root = _root()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    _sweep(root)
    token = secrets.token_hex(16)
    folder = root / token
    folder.mkdir(mode=0o700)
    kept = [t for t in session.get(_SESSION_KEY, []) if isinstance(t, str)][-(_TOKENS_KEPT - 1) :]
    session[_SESSION_KEY] = [*kept, token]
    return token, folder


def _upload(token: str) -> tuple[Path, dict[str, Any]]:
    """The upload `token` names, if this signed-in account made it within the hour (else 404)."""
    _sweep(_root())
    folder = _root() / token
    mine = token in session.get(_SESSION_KEY, [])
    meta_path = folder / "meta.json"
    if not (_TOKEN.fullmatch(token) and mine and meta_path.is_file()):
        abort(404, "This import is not there any more: uploads are kept for an hour. Upload the file again.")
    meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("uid") != common.user().id:
        abort(404, "This import is not there any more. Upload the file again.")
    return folder, meta


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def _summary(report: ImportReport) -> dict[str, Any]:
    counts = {key: report.actions.get(key, 0) for key in ("created", "rescheduled", "cancelled")}
    counts |= {key: report.actions.get(key, 0) for key in ("no-show", "completed", "unchanged")}
    counts["patients_created"] = report.patients.get("created", 0)
    counts["patients_updated"] = report.patients.get("updated", 0)
    counts["sync_cancelled"] = len(report.sync_cancelled)
    counts["bad_rows"] = report.bad_rows
    return {
        "rows": report.rows,
        "counts": counts,
        "errors": [list(e) for e in report.errors[:SHOWN_ERRORS]],
        "error_count": len(report.errors),
        "ignored_columns": report.ignored_columns,
    }


# --- reading the form --------------------------------------------------------------------------


def _file_name(upload: FileStorage) -> str:
    """The file's own name, without any folder, for messages and the audit trail."""
    raw = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in raw if c.isprintable()).strip()[:100]
    return name or "upload.csv"


def _read(field: str, *, required: bool, errors: dict[str, str]) -> tuple[bytes | None, str]:
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        if required:
            errors[field] = "choose the CSV file to import (in a spreadsheet: Save as > CSV UTF-8)"
        return None, ""
    name = _file_name(upload)
    if not name.lower().endswith((".csv", ".txt")):
        errors[field] = f"{name} is not a CSV file: save it from the spreadsheet as CSV UTF-8 (.csv)"
        return None, name
    limit = _limit_bytes()
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        errors[field] = _too_big_message()
        return None, name
    if not data.strip():
        errors[field] = f"{name} is empty: choose the exported file"
        return None, name
    return data, name


# --- the pages ---------------------------------------------------------------------------------


@bp.get("/import")
@common.admin_required
def index() -> Any:
    form, errors = common.kept_form(UPLOAD)
    return render_template("staff/imports/index.html", errors=errors, form=form, **_page())


@bp.post("/import")
@common.admin_required
def upload() -> Any:
    sync = bool(request.form.get("sync"))
    form = {"sync": sync}
    back = url_for("staff.imports.index")
    errors: dict[str, str] = {}
    data, name = _read("sessions_file", required=True, errors=errors)
    patients_data, patients_name = _read("patients_file", required=False, errors=errors)
    if errors or data is None:
        return common.back_with_errors(UPLOAD, form, errors, back)
    if patients_data is not None and patients_name == name:
        errors["patients_file"] = "the patients file has the same name as the sessions file: rename one"
        return common.back_with_errors(UPLOAD, form, errors, back)
    app = services()
    try:
        report = run_import(
            app,
            data,
            name,
            common.actor(),
            patients_data=patients_data,
            patients_name=patients_name or "patients.csv",
            dry_run=True,
            sync=sync,
        )
    except ImportRefused as exc:
        field = (
            "patients_file" if patients_name and str(exc).startswith(f"{patients_name}:") else "sessions_file"
        )
        return common.back_with_errors(UPLOAD, form, {field: str(exc)}, back)
    token, folder = _new_upload()
    (folder / "sessions.csv").write_bytes(data)
    if patients_data is not None:
        (folder / "patients.csv").write_bytes(patients_data)
    meta = {
        "uid": common.user().id,
        "name": name,
        "patients_name": patients_name,
        "sync": sync,
        "uploaded_at": app.clock().isoformat(),
        "applied": False,
    }
    _write_json(folder / "meta.json", meta)
    _write_json(folder / "preview.json", _summary(report))
    (folder / "preview-errors.csv").write_text(report.error_csv(), encoding="utf-8", newline="")
    return redirect(url_for("staff.imports.preview", token=token), code=303)


@bp.get("/import/<token>")
@common.admin_required
def preview(token: str) -> Any:
    folder, meta = _upload(token)
    if meta.get("applied"):
        return redirect(url_for("staff.imports.result", token=token))
    summary = json.loads((folder / "preview.json").read_text(encoding="utf-8"))
    return render_template(
        "staff/imports/report.html", token=token, meta=meta, summary=summary, applied=False, **_page()
    )


@bp.post("/import/<token>/apply")
@common.admin_required
def apply(token: str) -> Any:
    folder, meta = _upload(token)
    if meta.get("applied"):  # sent twice (a back button, a double click): imported once
        return redirect(url_for("staff.imports.result", token=token), code=303)
    patients_path = folder / "patients.csv"
    try:
        report = run_import(
            services(),
            (folder / "sessions.csv").read_bytes(),
            meta["name"],
            common.actor(),
            patients_data=patients_path.read_bytes() if patients_path.is_file() else None,
            patients_name=meta.get("patients_name") or "patients.csv",
            sync=bool(meta.get("sync")),
        )
    except ImportRefused as exc:  # read once already; only a change of configuration gets here
        return common.back_with_errors(
            UPLOAD, {"sync": meta.get("sync")}, {"sessions_file": str(exc)}, url_for("staff.imports.index")
        )
    _write_json(folder / "result.json", _summary(report))
    (folder / "result-errors.csv").write_text(report.error_csv(), encoding="utf-8", newline="")
    meta["applied"] = True
    _write_json(folder / "meta.json", meta)
    for uploaded in ("sessions.csv", "patients.csv"):
        (folder / uploaded).unlink(missing_ok=True)
    return redirect(url_for("staff.imports.result", token=token), code=303)


@bp.get("/import/<token>/result")
@common.admin_required
def result(token: str) -> Any:
    folder, meta = _upload(token)
    if not meta.get("applied"):
        return redirect(url_for("staff.imports.preview", token=token))
    summary = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    return render_template(
        "staff/imports/report.html", token=token, meta=meta, summary=summary, applied=True, **_page()
    )


@bp.get("/import/<token>/<any(preview, result):stage>-errors.csv")
@common.admin_required
def errors_csv(token: str, stage: str) -> Any:
    folder, meta = _upload(token)
    path = folder / f"{stage}-errors.csv"
    if not path.is_file():
        abort(404, "There is no error file for this import.")
    stem = os.path.splitext(meta["name"])[0] or "import"
    return Response(
        path.read_bytes(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{_ascii(stem)}.{stage}-errors.csv"'},
    )


def _ascii(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80] or "import"
