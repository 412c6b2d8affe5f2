"""A local Telegram Bot API for the offline console and the tests."""

from bot.emulator.emulator import BotApiEmulator
from bot.emulator.messages import BotMessage, Button, FileInfo
from bot.emulator.validation import ApiError

__all__ = ["ApiError", "BotApiEmulator", "BotMessage", "Button", "FileInfo"]
