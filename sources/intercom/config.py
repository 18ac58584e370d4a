"""Validation of user input that must fail before any request is made; the source's own config defaults."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import dlt
import pendulum
from dlt.common.configuration.container import Container
from dlt.common.configuration.providers import DictionaryProvider
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

from . import settings
from .errors import ConfigurationError


def parse_date(value: Any, name: str) -> pendulum.DateTime:
    """An ISO-8601 string, date, datetime or pendulum object as an aware UTC pendulum DateTime.

    Naive values are taken as UTC.
    """
    try:
        if isinstance(value, datetime):
            parsed = pendulum.instance(value, tz="UTC")
        elif isinstance(value, date):
            parsed = pendulum.datetime(value.year, value.month, value.day, tz="UTC")
        elif isinstance(value, str) and value.strip():
            parsed = pendulum.parse(value.strip(), tz="UTC")
        else:
            raise ValueError(value)
    except (ValueError, TypeError, pendulum.parsing.exceptions.ParserError) as exc:
        raise ConfigurationError(
            f"{name} {value!r} is not a date: use ISO-8601, e.g. 2024-01-31 or 2024-01-31T12:00:00Z."
        ) from exc
    if not isinstance(parsed, pendulum.DateTime):
        if isinstance(parsed, pendulum.Date):
            return pendulum.datetime(parsed.year, parsed.month, parsed.day, tz="UTC")
        raise ConfigurationError(f"{name} {value!r} is a duration or time, not a date.")
    return parsed.in_tz("UTC")


def parse_date_range(start: Any, end: Any) -> tuple[pendulum.DateTime, pendulum.DateTime | None]:
    """(start, end) for the incremental cursors; `end` requires nothing but must come after `start`."""
    start_value = parse_date(start, "start_date") if start not in (None, "") else None
    end_value = parse_date(end, "end_date") if end not in (None, "") else None
    start_value = start_value or parse_date(settings.DEFAULT_START_DATE, "start_date")
    if end_value is not None and end_value <= start_value:
        raise ConfigurationError(
            f"end_date {end_value.to_iso8601_string()} is not after start_date"
            f" {start_value.to_iso8601_string()}: swap them or widen the range."
        )
    return start_value, end_value


class SourceDefaults(DictionaryProvider):
    """dlt settings this source needs wherever it runs (a user's project has no `.dlt/config.toml` of ours),
    scoped to the source's own config section and consulted last: any value the user sets wins."""

    NAME = "Intercom source defaults"

    def __init__(self) -> None:
        super().__init__()
        self._config_doc = {"sources": {"intercom": dict(settings.SOURCE_CONFIG_DEFAULTS)}}


def register_source_defaults() -> None:
    """Adds `SourceDefaults` to dlt's config providers, once per run context."""
    if SourceDefaults.NAME not in Container()[PluggableRunContext].providers:
        dlt.config.register_provider(SourceDefaults())
