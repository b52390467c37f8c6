"""How the command line reports a knowledge base that cannot be used."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.engine.knowledge import KnowledgeBaseError

if TYPE_CHECKING:
    from rich.console import Console


def print_problems(errors: Console, root: Path, exc: KnowledgeBaseError, shown: int = 10) -> int:
    """Tell the user the knowledge base cannot be used (the first problems, and where to see all); return exit status 1."""
    errors.print(f"faqbot: the knowledge base in {root} has problems (run `faqbot validate --kb {root}`):", highlight=False, markup=False)
    for problem in exc.problems[:shown]:
        errors.print(f"  {problem}", highlight=False, soft_wrap=True, markup=False)
    return 1
