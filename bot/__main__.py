"""Entry point: `python -m bot` is the same as the `faqbot` command."""

import sys

from bot.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
