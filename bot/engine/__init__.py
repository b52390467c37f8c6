"""The answering core: text analysis, knowledge loading, matching and dialogue.

Pure Python: it imports nothing else of `bot`, no Telegram, no database, no console
library, and does no I/O beyond reading a knowledge base folder. Import from the modules
(`bot.engine.core`, `bot.engine.dialogue`, ...): this package imports none of them, so code that needs
only the settings' `Tuning` (`bot.engine.config`) does not load numpy and the matcher.
"""
