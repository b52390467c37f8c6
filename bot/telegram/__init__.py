"""The Telegram layer: everything that knows about python-telegram-bot lives in this package.

The answering core (`bot.dialogue`, `bot.matcher`, ...) never imports it; `bot.app` wires it up.
"""
