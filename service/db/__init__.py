"""Database adapter: tables, engine, migrations and queries (SQLAlchemy Core)."""
