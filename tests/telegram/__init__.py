"""Tests of the Telegram layer (bot/telegram, bot/app)."""
