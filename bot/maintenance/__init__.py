"""The maintainers' side: conversation log, report, evaluation, validation, hot reload
and the services behind the admin commands. May import `bot.engine`; never Telegram.
"""

from bot.maintenance.events import FeedbackEvent, QuestionEvent, Recorder
from bot.maintenance.reload import Reloader, ReloadResult
from bot.maintenance.storage import Store
from bot.maintenance.validate import validate, validated_engine

__all__ = ["FeedbackEvent", "QuestionEvent", "Recorder", "ReloadResult", "Reloader", "Store", "validate", "validated_engine"]
