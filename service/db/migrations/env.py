"""Alembic environment: runs on the connection the caller provides (see service.db.migrate)."""

from alembic import context

from service.db.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations always run through service.db.migrate
    raise RuntimeError("run migrations with `interlude init` (service.db.migrate.upgrade)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
