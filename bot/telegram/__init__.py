"""The Telegram layer: everything that knows about python-telegram-bot lives in this package,
including the application's wiring (`bot.telegram.app`). May import `bot.maintenance`,
`bot.engine` and `bot.settings`.
"""

from bot.telegram.app import build_application, run

__all__ = ["build_application", "run"]
