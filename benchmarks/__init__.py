"""Benchmarks: scripts that print figures (see README.md here)."""

import bot  # noqa: F401 - first, so numpy loads with the bot's thread settings (bot/__init__.py)
