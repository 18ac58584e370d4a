"""What every endpoint shares: Request, Response, ApiError, the paging and lookup helpers, and `SimParts`.

`SimParts` declares the SimServer state that the endpoint mixins (`routes/`), the middleware and the control
API use; `server.SimServer` sets it up and mixes them all together.
"""

from __future__ import annotations

import json
import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .search import SearchCache
from .workspace import JSON, Workspace

if TYPE_CHECKING:
    from .middleware import Knobs

MAX_PER_PAGE = 150


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field_name = status, code, message, field_name


def not_found(code: str = "not_found", message: str = "Resource Not Found") -> ApiError:
    return ApiError(404, code, message)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any
    raw_body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> JSON:
        if not self.raw_body:
            return {}
        try:
            body = json.loads(self.raw_body)
        except ValueError as exc:
            raise ApiError(400, "parameter_invalid", "Invalid JSON body") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "parameter_invalid", "The request body must be a JSON object")
        return body

    def int_param(self, name: str, default: int, source: JSON | None = None) -> int:
        raw = (source or {}).get(name, self.query.get(name))
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ApiError(400, "parameter_invalid", f"{name} must be an integer", name) from None


@dataclass
class Response:
    status: int
    body: bytes | list[bytes]  # a list of chunks is sent with scatter-gather I/O
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def ok(body: bytes | list[bytes]) -> Response:
    return Response(200, body)


def per_page_of(req: Request, default: int, source: JSON | None = None) -> int:
    per_page = req.int_param("per_page", default, source)
    if per_page < 1:
        raise ApiError(400, "parameter_invalid", "per_page must be at least 1", "per_page")
    return min(per_page, MAX_PER_PAGE)


def page_slice(req: Request, items: list[Any], default_per_page: int) -> tuple[list[Any], int, int]:
    page = max(1, req.int_param("page", 1))
    per_page = per_page_of(req, default_per_page)
    return items[(page - 1) * per_page : page * per_page], page, per_page


def lookup(
    store: dict[str, JSON], obj_id: str, code: str = "not_found", message: str = "Resource Not Found"
) -> JSON:
    obj = store.get(obj_id)
    if obj is None:
        raise not_found(code, message)
    return obj


Handler = Callable[[Request], Response]


class Connection(Protocol):
    """The client connection a request came on (server._RequestHandler)."""

    def send(self, response: Response) -> None: ...

    def reset(self) -> None: ...


class SimParts:
    """The state of a SimServer that its parts share (set in `SimServer.__init__`).

    Each part is a mixin of SimServer: they call each other's methods through it (for example the middleware
    ends a companies scroll on an injected 500, `routes/companies.py`).
    """

    ws: Workspace
    token: str
    knobs: Knobs
    base_url: str
    counters: dict[str, int]
    status_counts: dict[int, int]
    fault_counts: dict[str, int]  # injected faults by kind
    request_count: int
    request_log: deque[tuple[str, str, dict[str, str]]]
    _stats_lock: threading.Lock  # counters, request log, fault draws
    _state_lock: threading.Lock  # the companies scroll and the export jobs
    _export_rng: random.Random  # scroll parameters and export job ids (seeded by the workspace's seed)
    _search_cache: SearchCache
