"""Outgoing webhooks in the chat: the delivery pass the bot runs, and the admins' notice.

The pass itself (`bot.webhook_jobs`) posts the outbox's events off the handlers' path, on a
ticker; this module declares it and words what the admins are told.
"""

from __future__ import annotations

import html
from datetime import timedelta

from handlers.feature import Feature, Job
from handlers.i18n import Translator

DELIVER_JOB = "deliver-webhooks"


def endpoint_disabled_text(t: Translator, url: str) -> str:
    """What each admin is told when an endpoint failing for a day was turned off."""
    return t("webhooks.endpoint_disabled", url=html.escape(url))


FEATURE = Feature(
    name="webhooks",
    jobs=(Job(DELIVER_JOB, every=timedelta(seconds=2), first=timedelta(seconds=1)),),
)
