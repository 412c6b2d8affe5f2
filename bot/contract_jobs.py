"""The `contract-renewals` pass: contract statuses follow the calendar (`storage.contract_status`),
then the renewal reminders of expiring contracts are planned (`storage.contract_reminders`);
`bot.scheduler` delivers them with the other reminders.

Like the other passes, the database is the record and the JobQueue only a ticker: a pass
reads what is due now and changes only what still needs changing, so a pass missed while the
bot was down is made up by the first one after start, and passes on several instances at
once move each contract once. "Today" is the team's date (`[locale] timezone`).
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from handlers.context import SERVICES_KEY
from handlers.contract_reminders import renewal_rules
from handlers.services import Services
from storage.contract_reminders import plan_renewal_reminders
from storage.contract_status import advance_contract_statuses

logger = logging.getLogger(__name__)

JOB = "contract-renewals"


async def run_pass(application: Any) -> tuple[int, int]:
    """Move the contracts whose dates call for it, then plan their renewal reminders; the
    numbers of contracts moved and of reminders made by this pass."""
    services: Services = application.bot_data[SERVICES_KEY]
    config = services.config
    now = services.clock()
    today = now.astimezone(ZoneInfo(config.locale.timezone)).date()
    moved = await services.db.run(
        advance_contract_statuses,
        today=today,
        default_notice_days=config.contracts.renewal_notice_days,
    )
    if moved:
        logger.info("moved %d contracts to their status of %s", len(moved), today)
    made = await services.db.run(
        plan_renewal_reminders, now=services.clock(), rules=renewal_rules(config)
    )
    if made:
        logger.info("planned %d renewal reminders", made)
    return len(moved), made
