"""The team's required fields (`[quality] required`) made into the entry and edit flows'
`required` flags, when the engine is built: a required field is asked without Skip (and
offers no Clear in an edit), and the summary's "Review" waits for it."""

from __future__ import annotations

import dataclasses

from handlers.flows.flow import Flow
from storage.quality.rules import FLOW_FIELD, QualityRules

RECORD_OF_FLOW = {
    "customer": "customer",
    "edit_customer": "customer",
    "fill_gaps": "customer",
    "quick_log": "customer",  # its new customer's fields
    "deal": "deal",
    "edit_deal": "deal",
}


def with_rules(flow: Flow, rules: QualityRules) -> Flow:
    """`flow` with the fields its record type requires marked required; others unchanged."""
    record = RECORD_OF_FLOW.get(flow.name)
    if record is None:
        return flow
    required = {FLOW_FIELD.get(name, name) for name in rules.required_for(record)}
    fields = tuple(
        dataclasses.replace(f, required=True) if f.name in required and not f.required else f
        for f in flow.fields
    )
    return dataclasses.replace(flow, fields=fields)
