"""`/import` and spreadsheet uploads: placeholder wired into the application (issue 7)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from handlers.context import CrmContext
from handlers.flow import Flow
from handlers.flow_engine import FlowEngine

FLOWS: tuple[Flow, ...] = ()


def build_handlers(engine: FlowEngine) -> list[BaseHandler[Update, CrmContext, None]]:
    del engine
    return []
