"""The least work the API allows: minimum calls per route, and the wall-time bound of a rate-limited backfill.

Routes are the simulator's counter keys (route templates such as "POST /contacts/search").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

SEARCH_PAGE_SIZE = 150
"""Rows per search page (the API's maximum, which the connector uses)."""
DATA_ATTRIBUTE_MODELS = 3
"""GET /data_attributes once per model: contact, company, conversation."""

ROUTE_RESOURCE: dict[str, str] = {
    "POST /contacts/search": "contacts",
    "GET /companies/scroll": "companies",
    "POST /conversations/search": "conversations",
    "GET /conversations/{id}": "conversation_parts",
    "GET /admins": "admins",
    "GET /teams": "teams",
    "GET /tags": "tags",
    "GET /segments": "segments",
    "GET /subscription_types": "subscription_types",
    "GET /data_attributes": "data_attributes",
}
"""The route each benchmarked resource reads (`data_attributes` is shared with the typing of custom dates)."""
RESOURCES: tuple[str, ...] = tuple(ROUTE_RESOURCE.values())
INCREMENTAL_RESOURCES = ("contacts", "companies", "conversations", "conversation_parts")
SMALL_TABLES = ("admins", "teams", "tags", "segments", "subscription_types")


def search_calls(rows: int) -> int:
    """Pages of a search returning `rows` rows; an empty search still costs one call."""
    return max(1, math.ceil(rows / SEARCH_PAGE_SIZE))


def scroll_calls(rows: int, page_size: int) -> int:
    """Pages of a companies scroll, including the empty page that ends it."""
    return math.ceil(rows / page_size) + 1


def full_load_minimum(rows: Mapping[str, int], scroll_page_size: int) -> dict[str, int]:
    """Calls per route for a first load of every benchmarked resource, given the rows it loaded."""
    conversations = rows.get("conversations", 0)
    return {
        "POST /contacts/search": search_calls(rows.get("contacts", 0)),
        "GET /companies/scroll": scroll_calls(rows.get("companies", 0), scroll_page_size),
        "POST /conversations/search": search_calls(conversations),
        "GET /conversations/{id}": conversations,
        **{route: 1 for route, name in ROUTE_RESOURCE.items() if name in SMALL_TABLES},
        "GET /data_attributes": DATA_ATTRIBUTE_MODELS,
    }


def no_change_target() -> dict[str, int]:
    """The issue's budget for a run where nothing changed: one call per incremental resource, plus the
    small replace tables (one each; three for data_attributes)."""
    budget = {name: 1 for name in (*INCREMENTAL_RESOURCES, *SMALL_TABLES)}
    budget["data_attributes"] = DATA_ATTRIBUTE_MODELS
    return {route: budget[name] for route, name in ROUTE_RESOURCE.items()}


def no_change_minimum(companies: int, scroll_page_size: int) -> dict[str, int]:
    """What this API needs when nothing changed: companies cannot be filtered by date, so they are scanned."""
    minimum = no_change_target()
    minimum["GET /companies/scroll"] = scroll_calls(companies, scroll_page_size)
    minimum["GET /conversations/{id}"] = 0
    return minimum


def per_second(rate_limit_per_minute: int) -> float:
    """The simulator's (and Intercom's) budget: ceil(limit / 6) requests per 10-second window."""
    if not rate_limit_per_minute:
        return math.inf
    return math.ceil(rate_limit_per_minute / 6) / 10


@dataclass(frozen=True)
class BackfillBound:
    """Least wall time of a conversations backfill with parts: the rate or the latency, whichever binds."""

    calls: int
    rate_s: float
    latency_s: float

    @property
    def bound_s(self) -> float:
        return max(self.rate_s, self.latency_s)

    @property
    def limited_by(self) -> str:
        return "rate limit" if self.rate_s >= self.latency_s else "latency / workers"


def backfill_bound(
    conversations: int, latency_ms: float, rate_limit_per_minute: int, workers: int
) -> BackfillBound:
    """Calls: the search pages and one data_attributes call, in sequence, then one GET per conversation.

    Rate bound: calls / (requests per second). Latency bound: the sequential calls one after another, plus
    the per-conversation GETs spread perfectly over `workers` concurrent requests.
    """
    sequential = search_calls(conversations) + 1
    calls = sequential + conversations
    latency_s = latency_ms / 1000 * (sequential + conversations / workers)
    return BackfillBound(calls, calls / per_second(rate_limit_per_minute), latency_s)


def rate_bound_s(calls: int, rate_limit_per_minute: int) -> float:
    """Least wall time of `calls` requests under the rate limit: calls / (requests per second)."""
    return calls / per_second(rate_limit_per_minute)


@dataclass(frozen=True)
class SlicedBound:
    """Least wall time of a sliced search backfill (`e`): the rate or the slices' latency, whichever binds."""

    calls: int
    pages: int
    rate_s: float
    latency_s: float
    sequential_s: float
    """One cursor chain, page after page: what the backfill costs without slices (for reference)."""

    @property
    def bound_s(self) -> float:
        return max(self.rate_s, self.latency_s)

    @property
    def limited_by(self) -> str:
        return "rate limit" if self.rate_s >= self.latency_s else "latency / chains"


def sliced_bound(
    rows: int, calls: int, latency_ms: float, rate_limit_per_minute: int, chains: int
) -> SlicedBound:
    """The bound of a search backfill of `rows` rows read as slices, `chains` of them at once.

    A search's pages form cursor chains: a page can be asked for only with the one before it's cursor, so
    one chain costs latency x pages however fast the rest is. Slices split the range into several chains
    run side by side (`settings.SLICE_CONCURRENCY` at once); spread perfectly, the ⌈rows/150⌉ pages cost
    latency x pages / chains. Every request, the probes that size the slices included, also counts against
    the rate limit: calls / rate. The wall time can be no less than the larger of the two. Left out, so the
    bound stays a bound: the few sequential rounds before the slices start (the first page, the oldest and
    newest probes, the count probes, each a latency) and a slice's extra partial page.
    """
    pages = search_calls(rows)
    latency_s = latency_ms / 1000
    return SlicedBound(
        calls=calls,
        pages=pages,
        rate_s=rate_bound_s(calls, rate_limit_per_minute),
        latency_s=latency_s * pages / chains,
        sequential_s=latency_s * pages,
    )
