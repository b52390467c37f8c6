"""The answering core: text analysis, knowledge loading, matching and dialogue.

Pure Python: it imports nothing else of `bot`, no Telegram, no database, no console
library, and does no I/O beyond reading a knowledge base folder.
"""

from bot.engine.core import Engine, EngineHolder, build
from bot.engine.dialogue import Context, Dialogue, DialogueSettings
from bot.engine.knowledge import KnowledgeBase, KnowledgeBaseError, Problem, load
from bot.engine.models import Candidate, Match, Reply, Suggestion
from bot.engine.render import plain

__all__ = [
    "Candidate",
    "Context",
    "Dialogue",
    "DialogueSettings",
    "Engine",
    "EngineHolder",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Match",
    "Problem",
    "Reply",
    "Suggestion",
    "build",
    "load",
    "plain",
]
