"""The consoles the commands print to (rich, imported only when one is made: `faqbot run` and `health` do without it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def errors_console() -> Console:
    """The console for errors (standard error): an error line names files and paths, so it is never wrapped."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)
