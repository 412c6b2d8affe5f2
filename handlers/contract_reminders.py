"""Contracts over time: their statuses follow the calendar, and renewals are reminded.

Nothing here is a command: the `contract-renewals` pass (`bot.contract_jobs`) moves signed
contracts to active on their start, active ones to expiring within their renewal notice and
to expired after their end (`storage.contract_status`).
"""

from __future__ import annotations

from datetime import timedelta

from handlers.feature import Feature, Job

FEATURE = Feature(
    name="contract-reminders",
    # Statuses change by the day: a pass every 10 minutes (and the first soon after start)
    # catches up after downtime without waiting long.
    jobs=(Job("contract-renewals", every=timedelta(minutes=10), first=timedelta(seconds=2)),),
)
