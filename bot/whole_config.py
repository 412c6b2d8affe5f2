"""The whole configuration behind `handlers.services.Services`, for the bot.

Handlers see the configuration through the protocols of `handlers.configuration`; the bot
reads every table (telegram, notification thresholds) of the one it loaded.
"""

from __future__ import annotations

from bot.config import Config
from handlers.services import Services


def config_of(services: Services) -> Config:
    """The loaded `Config` behind `services.config` (build_application always puts one there)."""
    config = services.config
    assert isinstance(config, Config), "Services were built without a bot.config.Config"
    return config
