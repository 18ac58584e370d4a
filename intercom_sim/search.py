"""Search grammar (`{field, operator, value}`, nested `{operator: AND|OR, value: [...]}`), sorting, cursors.

A query compiles to a predicate over the workspace's internal objects. Results are sorted totally by
(sort value, id) and cached per (query, sort, workspace version), so every page after the first is a bisect
into the cached key list: O(page). A query that bounds `updated_at` (a backfill's slices and their
`total_count` probes) tests only the objects within those bounds, found by bisection in an index of the
store by `updated_at` (`Compiler.span`, `FieldIndex`); the predicate still decides, so results are the same.
The cursor is the opaque encoding of the last (sort key, id) returned, so it stays meaningful when records
change between pages (a changed record moves; the others are neither skipped nor repeated).
"""

from __future__ import annotations

import base64
import bisect
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .state import start_of_next_day
from .workspace import JSON, Workspace, start_of_day

STRING, INTEGER, FLOAT, BOOLEAN, DATE, MEMBERSHIP = (
    "string",
    "integer",
    "float",
    "boolean",
    "date",
    "membership",
)

OPERATORS = frozenset({"=", "!=", "IN", "NIN", "<", ">", "<=", ">=", "~", "!~", "^", "$"})
MAX_FILTERS_PER_GROUP = 15

# Operators each field type accepts (contact search, from the spec's per-type table).
CONTACT_OPERATORS: dict[str, frozenset[str]] = {
    STRING: frozenset({"=", "!=", "IN", "NIN", "~", "!~", "^", "$"}),
    MEMBERSHIP: frozenset({"=", "!="}),
    BOOLEAN: frozenset({"=", "!=", "IN", "NIN"}),
    INTEGER: frozenset({"=", "!=", "IN", "NIN", "<", ">", "<=", ">="}),
    FLOAT: frozenset({"=", "!=", "IN", "NIN", "<", ">", "<=", ">="}),
    DATE: frozenset({"=", "<", ">"}),
}
# Conversations and tickets: `= != IN NIN` for all, `< > <= >=` for numbers/dates, `~ !~ ^ $` for strings.
CONVERSATION_OPERATORS: dict[str, frozenset[str]] = {
    STRING: frozenset({"=", "!=", "IN", "NIN", "~", "!~", "^", "$"}),
    MEMBERSHIP: frozenset({"=", "!=", "IN", "NIN"}),
    BOOLEAN: frozenset({"=", "!=", "IN", "NIN"}),
    INTEGER: frozenset({"=", "!=", "IN", "NIN", "<", ">", "<=", ">="}),
    FLOAT: frozenset({"=", "!=", "IN", "NIN", "<", ">", "<=", ">="}),
    DATE: frozenset({"=", "!=", "IN", "NIN", "<", ">", "<=", ">="}),
}

_CONTACT_DATES = (
    "created_at",
    "signed_up_at",
    "updated_at",
    "last_seen_at",
    "last_contacted_at",
    "last_replied_at",
    "last_email_opened_at",
    "last_email_clicked_at",
    "ios_last_seen_at",
    "android_last_seen_at",
)
_CONTACT_STRINGS = (
    "id",
    "role",
    "name",
    "email",
    "email_domain",
    "phone",
    "external_id",
    "language_override",
    "browser",
    "browser_language",
    "os",
    "location.country",
    "location.region",
    "location.city",
    "ios_app_name",
    "ios_app_version",
    "ios_device",
    "ios_os_version",
    "ios_sdk_version",
    "android_app_name",
    "android_app_version",
    "android_device",
    "android_os_version",
    "android_sdk_version",
    "avatar",
)
CONTACT_FIELDS: dict[str, str] = {
    **dict.fromkeys(_CONTACT_DATES, DATE),
    **dict.fromkeys(_CONTACT_STRINGS, STRING),
    "owner_id": INTEGER,
    "unsubscribed_from_emails": BOOLEAN,
    "marked_email_as_spam": BOOLEAN,
    "has_hard_bounced": BOOLEAN,
    "tag_id": MEMBERSHIP,
    "segment_id": MEMBERSHIP,
    "andoid_sdk_version": STRING,  # sic: the spec's table spells it this way
}
CONTACT_ALIASES = {"andoid_sdk_version": "android_sdk_version", "avatar": "avatar.image_url"}

_STAT_DATES = (
    "first_contact_reply_at",
    "first_assignment_at",
    "first_admin_reply_at",
    "first_close_at",
    "last_assignment_at",
    "last_assignment_admin_reply_at",
    "last_contact_reply_at",
    "last_admin_reply_at",
    "last_close_at",
)
_STAT_INTS = (
    "time_to_assignment",
    "time_to_admin_reply",
    "time_to_first_close",
    "time_to_last_close",
    "median_time_to_reply",
    "count_reopens",
    "count_assignments",
    "count_conversation_parts",
)
CONVERSATION_FIELDS: dict[str, str] = {
    "id": STRING,
    "created_at": DATE,
    "updated_at": DATE,
    "waiting_since": DATE,
    "snoozed_until": DATE,
    "source.type": STRING,
    "source.id": STRING,
    "source.delivered_as": STRING,
    "source.subject": STRING,
    "source.body": STRING,
    "source.author.id": STRING,
    "source.author.type": STRING,
    "source.author.name": STRING,
    "source.author.email": STRING,
    "source.url": STRING,
    "contact_ids": MEMBERSHIP,
    "teammate_ids": MEMBERSHIP,
    "tag_ids": MEMBERSHIP,
    "admin_assignee_id": INTEGER,
    "team_assignee_id": INTEGER,
    "channel_initiated": STRING,
    "open": BOOLEAN,
    "read": BOOLEAN,
    "state": STRING,
    "priority": STRING,
    "title": STRING,
    "ai_agent_participated": BOOLEAN,
    "ai_agent.source_type": STRING,
    "ai_agent.source_title": STRING,
    "ai_agent.last_answer_type": STRING,
    "ai_agent.resolution_state": STRING,
    "ai_agent.rating": INTEGER,
    "ai_agent.rating_remark": STRING,
    "conversation_rating.requested_at": DATE,
    "conversation_rating.replied_at": DATE,
    "conversation_rating.score": INTEGER,
    "conversation_rating.remark": STRING,
    "conversation_rating.contact_id": STRING,
    "conversation_rating.admin_d": STRING,
    **{f"statistics.{name}": DATE for name in _STAT_DATES},
    **{f"statistics.{name}": INTEGER for name in _STAT_INTS},
    "statistics.last_closed_by_id": STRING,
}
CONVERSATION_ALIASES = {
    "conversation_rating.score": "conversation_rating.rating",
    "conversation_rating.replied_at": "conversation_rating.created_at",
    "conversation_rating.requested_at": "conversation_rating.created_at",
    "conversation_rating.contact_id": "conversation_rating.contact.id",
    "conversation_rating.admin_d": "conversation_rating.teammate.id",
}
TICKET_FIELDS: dict[str, str] = {
    "id": STRING,
    "created_at": DATE,
    "updated_at": DATE,
    "title": STRING,
    "description": STRING,
    "category": STRING,
    "ticket_type_id": STRING,
    "contact_ids": MEMBERSHIP,
    "teammate_ids": MEMBERSHIP,
    "admin_assignee_id": STRING,
    "team_assignee_id": STRING,
    "open": BOOLEAN,
    "state": STRING,
    "snoozed_until": DATE,
    "ticket_id": STRING,
    "is_shared": BOOLEAN,
}
TICKET_ALIASES = {
    "title": "ticket_attributes._default_title_",
    "description": "ticket_attributes._default_description_",
    "ticket_type_id": "ticket_type.id",
    "state": "ticket_state",
}


class SearchError(Exception):
    """A malformed query; the server answers 400 with `code`."""

    def __init__(self, message: str, code: str = "parameter_invalid") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Predicate = Callable[[JSON], bool]
Getter = Callable[[JSON], Any]
Span = tuple[float, float]
"""[low, high) of a numeric field."""
Bounds = tuple[float, bool, float, bool]
"""(low, low included, high, high included): the exact values of a field a pure range query matches."""
UNBOUNDED: Span = (-math.inf, math.inf)
INDEXED_FIELD = "updated_at"
"""The field a search's candidates are narrowed by: what backfills slice on."""


@dataclass(frozen=True)
class Model:
    """What search needs to know about one searchable object type."""

    name: str
    fields: dict[str, str]
    aliases: dict[str, str]
    operators: dict[str, frozenset[str]]
    day_granular_dates: bool
    inclusive_ranges: bool  # conversations/tickets: `>` is "greater (or equal)", `<` is "lower (or equal)"


CONTACT_MODEL = Model("contact", CONTACT_FIELDS, CONTACT_ALIASES, CONTACT_OPERATORS, True, False)
CONVERSATION_MODEL = Model(
    "conversation", CONVERSATION_FIELDS, CONVERSATION_ALIASES, CONVERSATION_OPERATORS, False, True
)
TICKET_MODEL = Model("ticket", TICKET_FIELDS, TICKET_ALIASES, CONVERSATION_OPERATORS, False, True)


def _dotted(path: str) -> Getter:
    if path.startswith("custom_attributes."):
        key = path[len("custom_attributes.") :]  # custom keys may themselves contain dots
        return lambda obj: obj["custom_attributes"].get(key)
    if path.startswith("ticket_attributes."):
        key = path[len("ticket_attributes.") :]
        return lambda obj: obj["ticket_attributes"].get(key)
    parts = path.split(".")
    if len(parts) == 1:
        return lambda obj: obj.get(path)

    def get(obj: JSON) -> Any:
        value: Any = obj
        for part in parts:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return get


class Compiler:
    """Compiles a query for one model against one workspace (membership fields need workspace relations)."""

    def __init__(self, ws: Workspace, model: Model, tz_offset: int | str = 0) -> None:
        self.ws = ws
        self.model = model
        self.tz_offset = tz_offset
        self.custom_types = {
            a["name"]: a["data_type"]
            for a in ws.data_attributes
            if a.get("custom") and a.get("model") == model.name
        }

    def field_type(self, field: str) -> str:
        if field in self.model.fields:
            return self.model.fields[field]
        if field.startswith("custom_attributes."):
            key = field[len("custom_attributes.") :]
            if key in self.custom_types:
                return self.custom_types[key]
        if self.model.name == "ticket" and field.startswith("ticket_attribute."):
            return STRING
        raise SearchError(f"{field} is not a searchable field", "parameter_invalid")

    def getter(self, field: str) -> Getter:
        if self.model.name == "contact" and field == "tag_id":
            return lambda c: [t["id"] for t in c["tags"]["data"]]
        if self.model.name == "contact" and field == "segment_id":
            segments = self.ws.contact_segments
            return lambda c: segments.get(c["id"], ())
        if field == "contact_ids":
            return lambda o: [c["id"] for c in o["contacts"]["contacts"]]
        if field == "teammate_ids" and self.model.name == "conversation":
            return lambda o: [t["id"] for t in (o["teammates"] or {}).get("teammates", [])]
        if field == "teammate_ids":
            return lambda o: [o["admin_assignee_id"]]
        if field == "tag_ids":
            return lambda o: [t["id"] for t in o["tags"]["tags"]]
        if field.startswith("ticket_attribute."):
            return _dotted("ticket_attributes." + field[len("ticket_attribute.") :])
        return _dotted(self.model.aliases.get(field, field))

    def compile(self, query: Any, depth: int = 0) -> Predicate:
        if not isinstance(query, dict):
            raise SearchError("query must be an object", "parameter_invalid")
        operator = query.get("operator")
        if operator in ("AND", "OR"):
            return self._compile_group(operator, query.get("value"), depth)
        if "field" not in query:
            raise SearchError("query is missing a field", "parameter_not_found")
        return self._compile_filter(query["field"], operator, query.get("value"))

    def span(self, query: JSON, field: str = INDEXED_FIELD) -> Span:
        """[low, high) holding every value of `field` that an object matching `query` (compiled already, so
        well-formed) can have: a superset, so that objects outside it need not be tested. Unbounded where
        the query does not bound the field (OR groups, other operators, other fields)."""
        operator = query.get("operator")
        if operator == "AND":
            spans = [self.span(child, field) for child in query["value"]]
            return max(low for low, _ in spans), min(high for _, high in spans)
        if query.get("field") != field or query.get("value") is None or operator not in _SPAN_OPERATORS:
            return UNBOUNDED
        value = int(query["value"])
        if self.model.day_granular_dates and self.field_type(field) == DATE:
            day_start = start_of_day(value, self.tz_offset)
            next_day = start_of_next_day(value, self.tz_offset)
            spans = {"=": (day_start, next_day), ">": (next_day, math.inf), "<": (-math.inf, day_start)}
            return spans[operator]
        # Whether the range operators include their value or not, these spans hold both readings.
        if operator in (">", ">="):
            return value, math.inf
        if operator in ("<", "<="):
            return -math.inf, value + 1
        return value, value + 1

    def exact_bounds(self, query: JSON, field: str = INDEXED_FIELD) -> Bounds | None:
        """The values of `field` that match `query` exactly, when the query (compiled already) is nothing but
        range filters on that field, alone or ANDed: its matches are then the indexed objects within, and
        none needs testing; ORed too when their ranges meet (the connector's contact query `= day OR > day`).
        None for any other query (its candidates are tested one by one)."""
        if query.get("operator") in ("AND", "OR"):
            parts = [self.exact_bounds(child, field) for child in query["value"]]
            known = [part for part in parts if part is not None]
            if len(known) < len(parts):
                return None
            return _intersection(known) if query["operator"] == "AND" else _union(known)
        operator = query.get("operator")
        if query.get("field") != field or query.get("value") is None or operator not in _SPAN_OPERATORS:
            return None
        ftype = self.field_type(field)
        value = self._coerce(ftype, query["value"])
        if self.model.day_granular_dates and ftype == DATE:
            day_start = start_of_day(value, self.tz_offset)
            next_day = start_of_next_day(value, self.tz_offset)
            days = {
                "=": (day_start, True, next_day, False),
                ">": (next_day, True, math.inf, True),
                "<": (-math.inf, True, day_start, False),
            }
            return days.get(operator)  # the others are matched as `_day_granular` reads them, one by one
        inclusive = self.model.inclusive_ranges
        if operator == ">=" or (operator == ">" and inclusive):
            return value, True, math.inf, True
        if operator == ">":
            return value, False, math.inf, True
        if operator == "<=" or (operator == "<" and inclusive):
            return -math.inf, True, value, True
        if operator == "<":
            return -math.inf, True, value, False
        return None

    def _compile_group(self, operator: str, value: Any, depth: int) -> Predicate:
        if not isinstance(value, list) or not value:
            raise SearchError(f"{operator} requires a non-empty list of filters", "parameter_invalid")
        if len(value) > MAX_FILTERS_PER_GROUP:
            raise SearchError(
                f"max {MAX_FILTERS_PER_GROUP} filters per {operator} group", "parameter_invalid"
            )
        if depth > 2:
            raise SearchError("too many nested filters", "parameter_invalid")
        children = [self.compile(child, depth + 1) for child in value]
        if operator == "AND":
            return lambda obj: all(child(obj) for child in children)
        return lambda obj: any(child(obj) for child in children)

    def _compile_filter(self, field: Any, operator: Any, value: Any) -> Predicate:
        if not isinstance(field, str):
            raise SearchError("field must be a string", "parameter_invalid")
        if operator not in OPERATORS:
            raise SearchError(f"operator {operator!r} is not supported", "bad_request")
        ftype = self.field_type(field)
        if operator not in self.model.operators[ftype]:
            raise SearchError(
                f"operator {operator} is not supported for {ftype} field {field}", "bad_request"
            )
        get = self.getter(field)
        if operator in ("IN", "NIN"):
            if not isinstance(value, list):
                raise SearchError(f"{operator} requires an array value", "parameter_invalid")
            values = [self._coerce(ftype, v) for v in value]
        else:
            values = [self._coerce(ftype, value)]
        if ftype == MEMBERSHIP:
            return _membership(get, operator, values)
        if ftype == DATE and self.model.day_granular_dates:
            return self._day_granular(get, operator, values[0])
        return _scalar(
            get, operator, values, self.model.inclusive_ranges, ftype == STRING and field == "source.body"
        )

    def _coerce(self, ftype: str, value: Any) -> Any:
        if value is None:
            return None
        if ftype in (INTEGER, DATE):
            if isinstance(value, bool):
                raise SearchError("expected an integer value", "parameter_invalid")
            try:
                return int(value)
            except (TypeError, ValueError):
                raise SearchError(f"expected an integer value, got {value!r}", "parameter_invalid") from None
        if ftype == FLOAT:
            try:
                return float(value)
            except (TypeError, ValueError):
                raise SearchError(f"expected a number, got {value!r}", "parameter_invalid") from None
        if ftype == BOOLEAN:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise SearchError(f"expected a boolean, got {value!r}", "parameter_invalid")
        if isinstance(value, dict | list):
            raise SearchError("expected a scalar value", "parameter_invalid")
        return str(value)

    def _day_granular(self, get: Getter, operator: str, value: Any) -> Predicate:
        """Contact search matches dates by calendar day in the workspace timezone (spec, 2.11)."""
        if value is None:
            raise SearchError("date filters need a value", "parameter_invalid")
        day_start = start_of_day(value, self.tz_offset)
        next_day = start_of_next_day(value, self.tz_offset)
        if operator == "=":
            return lambda obj: (v := get(obj)) is not None and day_start <= v < next_day
        if operator == ">":
            return lambda obj: (v := get(obj)) is not None and v >= next_day
        return lambda obj: (v := get(obj)) is not None and v < day_start


_SPAN_OPERATORS = frozenset({"=", "<", ">", "<=", ">="})


def _membership(get: Getter, operator: str, values: list[Any]) -> Predicate:
    wanted = set(values)
    if operator in ("=", "IN"):
        return lambda obj: any(v in wanted for v in get(obj))
    return lambda obj: not any(v in wanted for v in get(obj))


def _scalar(get: Getter, operator: str, values: list[Any], inclusive: bool, per_word: bool) -> Predicate:
    target = values[0]
    if operator == "=":
        if per_word and isinstance(target, str):
            word = target.lower()
            return lambda obj: isinstance(v := get(obj), str) and word in _words(v)
        return lambda obj: get(obj) == target
    if operator == "!=":
        return lambda obj: get(obj) != target
    if operator == "IN":
        return lambda obj: get(obj) in values
    if operator == "NIN":
        return lambda obj: get(obj) not in values
    if operator in ("<", ">", "<=", ">="):
        if target is None:
            raise SearchError("range filters need a value", "parameter_invalid")
        return _range(get, operator, target, inclusive)
    needle = str(target).lower() if target is not None else ""
    if operator == "~":
        return lambda obj: isinstance(v := get(obj), str) and needle in v.lower()
    if operator == "!~":
        return lambda obj: not (isinstance(v := get(obj), str) and needle in v.lower())
    if operator == "^":
        return lambda obj: isinstance(v := get(obj), str) and v.lower().startswith(needle)
    return lambda obj: isinstance(v := get(obj), str) and v.lower().endswith(needle)


def _range(get: Getter, operator: str, target: Any, inclusive: bool) -> Predicate:
    def numeric(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    if operator == ">=" or (operator == ">" and inclusive):
        return lambda obj: numeric(v := get(obj)) and v >= target
    if operator == ">":
        return lambda obj: numeric(v := get(obj)) and v > target
    if operator == "<=" or (operator == "<" and inclusive):
        return lambda obj: numeric(v := get(obj)) and v <= target
    return lambda obj: numeric(v := get(obj)) and v < target


def _words(text: str) -> set[str]:
    cleaned = "".join(
        ch.lower() if ch.isalnum() else " " for ch in text.replace("<p>", " ").replace("</p>", " ")
    )
    return set(cleaned.split())


# ---------------------------------------------------------------------------------------------------- sorting

SortKey = tuple[Any, ...]


def value_key(value: Any) -> tuple[Any, ...]:
    """A total order over mixed JSON scalars: nulls first, then numbers, then strings."""
    if value is None:
        return (0,)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value))


def id_key(obj_id: str) -> tuple[int, str]:
    """Numeric ids sort numerically ("9" < "10"); equal-length hex ids sort lexically (= creation order)."""
    return (len(obj_id), obj_id)


def encode_cursor(key: SortKey) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return _tupleize(decoded)
    except (ValueError, TypeError) as exc:
        raise SearchError("starting_after is not a valid cursor", "parameter_invalid") from exc


def _tupleize(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tupleize(v) for v in value)
    return value


@dataclass
class ResultSet:
    """All matches of one query in ascending (sort value, id) order."""

    keys: list[SortKey]
    ids: list[str]

    def page(
        self, cursor: SortKey | None, per_page: int, descending: bool
    ) -> tuple[list[str], SortKey | None]:
        """The ids after `cursor` and the cursor for the next page (None at the end)."""
        if not descending:
            start = bisect.bisect_right(self.keys, cursor) if cursor is not None else 0
            stop = min(start + per_page, len(self.keys))
            ids = self.ids[start:stop]
            return ids, (self.keys[stop - 1] if stop < len(self.keys) and ids else None)
        end = bisect.bisect_left(self.keys, cursor) if cursor is not None else len(self.keys)
        start = max(0, end - per_page)
        ids = self.ids[start:end][::-1]
        return ids, (self.keys[start] if start > 0 and ids else None)


class FieldIndex:
    """A store's objects sorted by one numeric field (objects without a number there are left out: no
    bounded filter on the field matches them)."""

    def __init__(self, objects: Iterable[JSON], get: Getter) -> None:
        pairs = [
            ((value_key(value), id_key(obj["id"])), obj) for obj in objects if _is_number(value := get(obj))
        ]
        pairs.sort(key=lambda pair: pair[0])
        self.keys = [key for key, _ in pairs]
        """The sort keys of a search sorted by this field (`build_results`), in order."""
        self.values = [key[0][1] for key in self.keys]
        self.objects = [obj for _, obj in pairs]
        self.ids = [obj["id"] for obj in self.objects]
        """Kept beside the objects: reading 200,000 ids out of their objects took 170 ms per new query."""

    def within(self, span: Span) -> list[JSON]:
        low, high = span
        return self.objects[bisect.bisect_left(self.values, low) : bisect.bisect_left(self.values, high)]

    def between(self, bounds: Bounds) -> list[JSON]:
        """The objects whose value lies within `bounds` exactly."""
        return self.objects[self._positions(bounds)]

    def results_between(self, bounds: Bounds) -> ResultSet:
        """The result set of a search matching `bounds` exactly and sorted by this field, as
        `build_results` makes it, with no object visited (the index is in that order already)."""
        positions = self._positions(bounds)
        return ResultSet(self.keys[positions], self.ids[positions])

    def _positions(self, bounds: Bounds) -> slice:
        low, low_in, high, high_in = bounds
        start = (bisect.bisect_left if low_in else bisect.bisect_right)(self.values, low)
        stop = (bisect.bisect_right if high_in else bisect.bisect_left)(self.values, high)
        return slice(start, max(start, stop))


def _intersection(parts: list[Bounds]) -> Bounds:
    """The values within every one of `parts` (at a shared edge, an excluded value is excluded)."""
    low, low_in = max(((p[0], not p[1]) for p in parts), default=(-math.inf, False))
    high, high_in = min(((p[2], p[3]) for p in parts), default=(math.inf, True))
    return low, not low_in, high, high_in


def _union(parts: list[Bounds]) -> Bounds | None:
    """The values within any of `parts` when they make one range (each meeting the next), else None."""
    ordered = sorted(parts, key=lambda p: (p[0], not p[1]))
    low, low_in, high, high_in = ordered[0]
    for next_low, next_low_in, next_high, next_high_in in ordered[1:]:
        if next_low > high or (next_low == high and not (high_in or next_low_in)):
            return None  # a gap between them
        if (next_high, next_high_in) > (high, high_in):
            high, high_in = next_high, next_high_in
    return low, low_in, high, high_in


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class SearchCache:
    """Small LRU of ResultSets keyed by (model, query, sort, workspace version, visibility), and the
    `FieldIndex` of each store at the latest workspace versions."""

    def __init__(self, size: int = 64, indexes: int = 4) -> None:
        self._entries: OrderedDict[tuple[Any, ...], ResultSet] = OrderedDict()
        self._size = size
        self._indexes: OrderedDict[tuple[Any, ...], FieldIndex] = OrderedDict()
        self._index_size = indexes
        self._lock = threading.Lock()
        self._index_build_lock = threading.Lock()

    def index(self, key: tuple[Any, ...], build: Callable[[], FieldIndex]) -> FieldIndex:
        """The index under `key` (store, workspace version), built on the first ask, once: the slicing
        probes arrive by the dozen at once, and each built its own (66 sorts of 200,000 contacts)."""
        with self._lock:
            found = self._indexes.get(key)
        if found is not None:
            return found
        with self._index_build_lock:
            with self._lock:
                found = self._indexes.get(key)
            if found is None:
                found = build()
                with self._lock:
                    self._indexes[key] = found
                    while len(self._indexes) > self._index_size:
                        self._indexes.popitem(last=False)
        return found

    def get_or_build(self, key: tuple[Any, ...], build: Callable[[], ResultSet]) -> ResultSet:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
        result = build()
        with self._lock:
            self._entries[key] = result
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return result


def build_results(objects: Iterable[JSON], predicate: Predicate | None, sort_get: Getter) -> ResultSet:
    """The objects `predicate` accepts (all of them without one), sorted."""
    matched = [
        ((value_key(sort_get(obj)), id_key(obj["id"])), obj["id"])
        for obj in objects
        if predicate is None or predicate(obj)
    ]
    matched.sort(key=lambda pair: pair[0])
    return ResultSet([k for k, _ in matched], [i for _, i in matched])
