"""Numbers a person types (options, config values), as pydantic-checked types.

One definition serves the config file's models and the command line: ``arg_type(T)``
turns one into an argparse ``type=`` that says, in one line, what is wrong.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

#: the bounds below, for code that checks a value it did not get through these types
BAUD_MIN, BAUD_MAX = 50, 4_000_000
CLOCK_RATE_MAX = 100_000
PORT_MAX = 65535

#: a time in seconds (a duration, a timeout, an interval): finite and more than zero
Seconds = Annotated[float, Field(gt=0, le=10 * 365 * 86400, allow_inf_nan=False)]
#: how much faster a clock runs than the wall clock (an emulator's speed)
ClockRate = Annotated[float, Field(gt=0, le=CLOCK_RATE_MAX, allow_inf_nan=False)]
Days = Annotated[float, Field(gt=0, le=100 * 366, allow_inf_nan=False)]
Baud = Annotated[int, Field(ge=BAUD_MIN, le=BAUD_MAX)]
#: a meter id: part of MQTT topics and store keys, so no wildcards, slashes or spaces
MeterId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MeterCount = Annotated[int, Field(ge=1, le=10_000)]
Workers = Annotated[int, Field(ge=1, le=256)]
ReportRate = Annotated[int, Field(ge=3, le=60)]  # DP 129 on a PJ-1103A
Minutes = Annotated[int, Field(ge=1, le=10 * 365 * 1440)]
#: a TCP or UDP port to listen on or send to
Port = Annotated[int, Field(ge=1, le=PORT_MAX)]
#: a non-negative interval (0: no limit)
Interval = Annotated[float, Field(ge=0, le=86400, allow_inf_nan=False)]


def arg_type(annotation: Any, what: str) -> Callable[[str], Any]:
    """An argparse ``type=`` validating with ``annotation``; errors read ``what: reason``."""
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)

    def parse(text: str) -> Any:
        try:
            return adapter.validate_python(text.strip())
        except ValidationError as e:
            reason = e.errors()[0]["msg"].replace("Input should be", "should be")
            raise argparse.ArgumentTypeError(f"{what} {text!r}: {reason}") from None

    parse.__name__ = what  # argparse names the type in some messages
    return parse
