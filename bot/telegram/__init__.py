"""The Telegram layer: everything that knows about python-telegram-bot lives in this package,
including the application's wiring (`bot.telegram.app`). May import `bot.maintenance`,
`bot.engine` and `bot.settings`.

Importing the package imports no module of it: `faqbot health` (the container's health check, every
30 s) reads the heartbeat (`bot.telegram.heartbeat`) without loading python-telegram-bot
(a third of a second and 20 MB).
"""
