"""Query bodies for Intercom's search endpoints."""

from __future__ import annotations

from typing import Any

Filter = dict[str, Any]


def _condition(field: str, operator: str, value: int) -> Filter:
    return {"field": field, "operator": operator, "value": value}


def _all_of(*filters: Filter) -> Filter:
    return filters[0] if len(filters) == 1 else {"operator": "AND", "value": list(filters)}


def _any_of(*filters: Filter) -> Filter:
    return {"operator": "OR", "value": list(filters)}


def contacts_updated_query(start: int | None, end: int | None, field: str = "updated_at") -> Filter:
    """Contacts updated on or after `start`'s day (and on or before `end`'s day).

    Contact search compares dates by whole day in the workspace's timezone: `>` starts at the next day and
    `<` stops before the day. `= start OR > start` therefore covers `start`'s whole day onward whatever the
    timezone or DST, and the exact bounds are applied to the rows by the incremental cursor.
    """
    since = start or 0
    filters = [_any_of(_condition(field, "=", since), _condition(field, ">", since))]
    if end is not None:
        filters.append(_any_of(_condition(field, "=", end), _condition(field, "<", end)))
    return _all_of(*filters)


def contacts_days_query(start: int, end: int | None, field: str = "updated_at") -> Filter:
    """Contacts updated on the local days from `start`'s (a local midnight) to the day before `end`'s (a local
    midnight too): `>` starts at the day after its value's, `<` stops before its value's day."""
    filters = [_condition(field, ">", start - 1)]
    if end is not None:
        filters.append(_condition(field, "<", end))
    return _all_of(*filters)


def exact_updated_query(start: int | None, end: int | None, field: str = "updated_at") -> Filter:
    """Conversations or tickets updated in [start, end): their search matches to the second.

    The spec documents `>` as "greater (or equal)"; rows at the boundary may repeat and are merged on `id`.
    """
    filters = [_condition(field, ">", start or 0)]
    if end is not None:
        filters.append(_condition(field, "<", end))
    return _all_of(*filters)
