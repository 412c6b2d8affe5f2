"""Placeholder: manager digests and team feeds are being written (not yet a feature)."""

from __future__ import annotations

from typing import Any


def install(application: Any) -> None:
    """Register the digest jobs on the application's JobQueue."""
    del application
