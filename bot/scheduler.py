"""Placeholder: scheduled delivery is being written (not yet a feature)."""

from __future__ import annotations

from typing import Any


def install(application: Any) -> None:
    """Register the scheduler's jobs on the application's JobQueue."""
    del application
