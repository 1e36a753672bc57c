"""The `interlude` command: `main` is the console script, `init_app` adds the commands to a Flask
app (so its test runner drives them). The commands live in main.py and one module per group."""

from __future__ import annotations

from .main import cli, init_app, main

__all__ = ["cli", "init_app", "main"]
