"""What the web middlewares share: outcome and severity from an HTTP status, request ids."""

from __future__ import annotations

import uuid
from typing import Tuple

__all__ = ["classify_status", "new_request_id"]


def classify_status(status: int) -> Tuple[str, str]:
    """``(outcome, severity)`` for an HTTP status, as the seeds' hand-written middleware did:
    1xx-3xx success/info, 401 and 403 denied/medium, other 4xx failure/low, 5xx error/high."""
    if status in (401, 403):
        return "denied", "medium"
    if 400 <= status < 500:
        return "failure", "low"
    if status >= 500:
        return "error", "high"
    return "success", "info"


def new_request_id() -> str:
    return uuid.uuid4().hex
