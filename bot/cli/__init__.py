"""The command line (`faqbot`): the top layer, which may import every other package of `bot`."""

from bot.cli.main import main

__all__ = ["main"]
