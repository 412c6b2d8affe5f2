"""The custom callback context: who is writing, in which language, and the services.

The gate fills `member` and `t` once per update; every later handler reads them from here
instead of looking the member up again.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application, CallbackContext, ExtBot

from handlers.i18n import Translator
from handlers.services import Services
from storage.db import Database
from storage.models import Draft, Member

SERVICES_KEY = "services"
LANGUAGE_KEY = "language"


class CrmContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.member: Member | None = None
        self.translator: Translator | None = None
        # The member's draft as the gate read it with the member (`gate.wants_draft`); a
        # one-element tuple, so "read, no draft" differs from "not read".
        self._prefetched_draft: tuple[Draft | None] | None = None

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data[SERVICES_KEY]
        return services

    @property
    def db(self) -> Database:
        return self.services.db

    def remember_language(self, language: str) -> None:
        """Kept in memory so handlers without the gate's context (errors) still speak it."""
        if self.user_data is not None:
            self.user_data[LANGUAGE_KEY] = language

    def t(self, key: str, **params: object) -> str:
        """Catalog text in this update's language."""
        if self.translator is None:
            remembered = self.user_data.get(LANGUAGE_KEY) if self.user_data is not None else None
            language = remembered or self.services.config.locale.default_language
            self.translator = self.services.catalogs.translator(language)
        return self.translator(key, **params)

    @property
    def member_id(self) -> int:
        member_id = self.require_member().id
        assert member_id is not None
        return member_id

    def prefetch_draft(self, draft: Draft | None) -> None:
        self._prefetched_draft = (draft,)

    def take_prefetched_draft(self) -> tuple[Draft | None] | None:
        """The draft the gate read for this update, for the flow engine's first look at the
        message; once (a later read must see what this update wrote)."""
        prefetched, self._prefetched_draft = self._prefetched_draft, None
        return prefetched

    def require_member(self) -> Member:
        """The gate guarantees a member for every handler after it; this makes that explicit."""
        if self.member is None:
            raise RuntimeError("handler reached without a member: check the gate's group")
        return self.member

    @property
    def tz(self) -> ZoneInfo:
        """The member's timezone, else the team's: every time is shown in it."""
        name = self.member.timezone if self.member and self.member.timezone else None
        return ZoneInfo(name or self.services.config.locale.timezone)

    @property
    def language(self) -> str:
        return self.translator.language if self.translator else "en"
