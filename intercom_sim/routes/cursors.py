"""Cursor-paged lists and searches: GET /contacts, GET /conversations, POST /{model}/search.

Result sets are built by `search.build_results` and cached per workspace version (`SearchCache`); a cursor
(`starting_after`) is base64 of `[page, [sort key, id key]]`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import render
from ..api import ApiError, Request, Response, SimParts, ok, per_page_of
from ..render import envelope
from ..search import (
    CONTACT_MODEL,
    CONVERSATION_MODEL,
    INDEXED_FIELD,
    TICKET_MODEL,
    UNBOUNDED,
    Bounds,
    Compiler,
    FieldIndex,
    Model,
    ResultSet,
    Span,
    build_results,
    decode_cursor,
    encode_cursor,
)
from ..workspace import JSON


class CursorLists(SimParts):
    """The search core shared by the contact, conversation and ticket endpoints."""

    def _results(
        self,
        name: str,
        model: Model,
        predicate: Callable[[JSON], bool],
        sort_field: str | None,
        *,
        visible_only: bool,
        query_key: str = "",
        span: Span = UNBOUNDED,
        exact: Bounds | None = None,
    ) -> ResultSet:
        """The cached result set of a query; `span` (`Compiler.span`) narrows the objects tested, and
        `exact` (`Compiler.exact_bounds`) gives the matches of a pure range query with none tested."""
        ws = self.ws
        store = self._store(model)
        hidden = self._lagging_contacts() if visible_only and model.name == "contact" else frozenset()
        sort_get = Compiler(ws, model).getter(sort_field) if sort_field else (lambda obj: None)
        key = (name, query_key, sort_field, ws.version, hidden, self.knobs.workspace_timezone)

        def build() -> ResultSet:
            with ws.lock:
                if exact is not None and sort_field == INDEXED_FIELD and not hidden:
                    return self._index(model, store).results_between(exact)
                objects = self._candidates(model, store, span, exact)
                objects = [o for o in objects if o["id"] not in hidden] if hidden else objects
            return build_results(objects, None if exact is not None else predicate, sort_get)

        return self._search_cache.get_or_build(key, build)

    def _candidates(
        self, model: Model, store: dict[str, JSON], span: Span, exact: Bounds | None = None
    ) -> list[JSON]:
        """The objects of `store` that can match a query bounded to `span`, or that do match one bounded
        `exact`ly (the caller holds ws.lock)."""
        if span == UNBOUNDED and exact is None:
            return list(store.values())
        index = self._index(model, store)
        return index.between(exact) if exact is not None else index.within(span)

    def _index(self, model: Model, store: dict[str, JSON]) -> FieldIndex:
        get = Compiler(self.ws, model).getter(INDEXED_FIELD)
        key = (model.name, self.ws.version)
        return self._search_cache.index(key, lambda: FieldIndex(store.values(), get))

    def warm_search_indexes(self) -> None:
        """Builds the `updated_at` index of each searchable store now rather than on the first search
        bounded by it (about 1.4 s at 200,000 contacts, which a benchmark's first request then waited)."""
        with self.ws.lock:
            for model in (CONTACT_MODEL, CONVERSATION_MODEL, TICKET_MODEL):
                self._index(model, self._store(model))

    def _store(self, model: Model) -> dict[str, JSON]:
        ws = self.ws
        return {"contact": ws.contacts, "conversation": ws.conversations, "ticket": ws.tickets}[model.name]

    def _lagging_contacts(self) -> frozenset[str]:
        lag = self.knobs.search_lag_seconds
        if lag <= 0 or not self.ws.contact_created_clock:
            return frozenset()
        now = self.ws.clock.now()
        return frozenset(cid for cid, created in self.ws.contact_created_clock.items() if created + lag > now)

    def _search(
        self,
        req: Request,
        model: Model,
        default_per_page: int,
        head: JSON,
        array_key: str,
        render_ids: Callable[[list[str]], bytes],
    ) -> Response:
        body = req.json()
        if "query" not in body:
            raise ApiError(400, "parameter_not_found", "query is required", "query")
        pagination = body.get("pagination") or {}
        if not isinstance(pagination, dict):
            raise ApiError(400, "parameter_invalid", "pagination must be an object", "pagination")
        per_page = per_page_of(req, default_per_page, {"per_page": pagination.get("per_page")})
        sort_field, descending = _parse_sort(body.get("sort"))
        compiler = Compiler(self.ws, model, self.knobs.workspace_timezone)
        predicate = compiler.compile(body["query"])
        if sort_field is not None:
            compiler.field_type(sort_field)
        query_key = json.dumps(body["query"], sort_keys=True)
        results = self._results(
            f"{model.name}:search",
            model,
            predicate,
            sort_field,
            visible_only=True,
            query_key=query_key,
            span=compiler.span(body["query"]),
            exact=compiler.exact_bounds(body["query"]),
        )
        return ok(
            self._cursor_page(
                pagination.get("starting_after"), per_page, descending, results, render_ids, head, array_key
            )
        )

    def _cursor_page(
        self,
        starting_after: str | None,
        per_page: int,
        descending: bool,
        results: ResultSet,
        render_ids: Callable[[list[str]], bytes],
        head: JSON,
        array_key: str,
    ) -> bytes:
        page_no, cursor = 1, None
        if starting_after:
            decoded = decode_cursor(starting_after)
            if not (isinstance(decoded, tuple) and len(decoded) == 2 and isinstance(decoded[0], int)):
                raise ApiError(
                    400, "parameter_invalid", "starting_after is not a valid cursor", "starting_after"
                )
            page_no, cursor = decoded[0], decoded[1]
        ids, next_key = results.page(cursor, per_page, descending)
        next_cursor = encode_cursor((page_no + 1, next_key)) if next_key is not None else None
        tail = {
            "total_count": len(results.ids),
            "pages": render.cursor_pages(page_no, per_page, len(results.ids), next_cursor),
        }
        return envelope(head, array_key, render_ids(ids), tail)


def _parse_sort(sort: Any) -> tuple[str | None, bool]:
    """`sort: {field, order}` -- undocumented in 2.11 but accepted; `asc`/`desc` are tolerated as aliases."""
    if sort is None:
        return None, False
    if not isinstance(sort, dict) or not isinstance(sort.get("field"), str):
        raise ApiError(400, "parameter_invalid", "sort must be an object with a field", "sort")
    order = sort.get("order", "ascending")
    if order not in ("ascending", "descending", "asc", "desc"):
        raise ApiError(400, "invalid_sort_order", "sort order must be ascending or descending", "sort.order")
    return sort["field"], order in ("descending", "desc")
