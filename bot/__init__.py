"""faqbot: a Telegram bot answering questions about the backend developer profession."""

__version__ = "0.1.0"
