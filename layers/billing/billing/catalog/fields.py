"""Field types shared by catalog resources."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
"""A tenant's own identifier for a resource (``api_calls``, ``pro-monthly``), unique per kind."""

Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=1000)]
Interval = Literal["day", "week", "month", "year"]
IntervalCount = Annotated[int, Field(ge=1, le=36)]
Percent = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^(100(\.0+)?|[0-9]{1,2}(\.[0-9]{1,6})?)$")]
"""A percentage from 0 to 100 as a decimal string, e.g. ``"19"`` or ``"7.5"``."""
