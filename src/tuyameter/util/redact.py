"""Secrets never reach a log line or an error message."""

from __future__ import annotations

import re

_KEY_PARAM = re.compile(r"([?&](?:key|local_key|localkey)=)[^&#\s]*", re.I)


def redact_url(url: str) -> str:
    """``tuya://id@host?key=…`` with the key's value replaced by ***."""
    return _KEY_PARAM.sub(r"\1***", url)
