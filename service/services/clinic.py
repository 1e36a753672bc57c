"""Record the configured clinic in the database (patients belong to a clinic)."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import insert, select, update

from ..db.tables import clinics
from ..runtime import Interlude

DEFAULT_SLUG = "default"


def _settings(app: Interlude) -> dict[str, Any]:
    c = app.config.clinic
    data = dataclasses.asdict(c)
    data["quiet_hours_start"] = c.quiet_hours_start.strftime("%H:%M")
    data["quiet_hours_end"] = c.quiet_hours_end.strftime("%H:%M")
    data["safety_until"] = c.safety_until.strftime("%H:%M")
    data["arrival_before_minutes"] = int(c.arrival_before.total_seconds() // 60)
    data.pop("arrival_before")
    data["fasting"] = {
        m: {
            "solids_minutes": int(f.solids.total_seconds() // 60),
            "clear_liquids_minutes": int(f.clear_liquids.total_seconds() // 60),
        }
        for m, f in c.fasting.items()
    }
    return data


def ensure_clinic(app: Interlude) -> int:
    """Insert or update the clinic row from the config; returns its id."""
    now = app.clock()
    settings = _settings(app)
    with app.engine.begin() as conn:
        row = conn.execute(select(clinics.c.id).where(clinics.c.slug == DEFAULT_SLUG)).first()
        if row is None:
            return int(
                conn.execute(
                    insert(clinics)
                    .values(
                        slug=DEFAULT_SLUG,
                        name=app.config.clinic.name,
                        settings=settings,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(clinics.c.id)
                ).scalar_one()
            )
        conn.execute(
            update(clinics)
            .where(clinics.c.id == row[0])
            .values(name=app.config.clinic.name, settings=settings, updated_at=now)
        )
        return int(row[0])
