"""The answering core: text analysis, knowledge loading, matching and dialogue.

Pure Python: it imports nothing else of `bot`, no Telegram, no database, no console
library, and does no I/O beyond reading a knowledge base folder.
"""

from bot.engine.config import Tuning
from bot.engine.core import Engine, EngineHolder, build
from bot.engine.dialogue import Context, Dialogue
from bot.engine.knowledge import KnowledgeBase, KnowledgeBaseError, Problem, load
from bot.engine.models import Candidate, Match, Reason, Reply, Suggestion
from bot.engine.render import plain
from bot.engine.semantic import Embedder, MiniLM, Vectors

__all__ = [
    "Candidate",
    "Context",
    "Dialogue",
    "Embedder",
    "Engine",
    "EngineHolder",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Match",
    "MiniLM",
    "Problem",
    "Reason",
    "Reply",
    "Suggestion",
    "Tuning",
    "Vectors",
    "build",
    "load",
    "plain",
]
