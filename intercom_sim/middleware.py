"""Middleware: what happens to every API request around its handler, and the knobs that steer it.

Order of checks: auth (401) -> rate limit (429) -> fault draw (500/502/503, reset, truncate, slow) -> Accept
(406) -> route (404) -> plan or missing permission (403) -> handler; then latency. `Knobs` are the run-time
settings.
"""

from __future__ import annotations

import dataclasses
import math
import random
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from . import render
from .api import ApiError, Connection, Handler, Request, Response, SimParts
from .search import SearchError
from .workspace import JSON

DEFAULT_FAULT_KINDS = ("500", "502", "503", "reset", "truncate", "slow")


@dataclass
class Knobs:
    latency_ms: float = 0
    latency_jitter_ms: float = 0
    rate_limit: int = 10_000
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = DEFAULT_FAULT_KINDS
    fault_seed: int = 0
    search_lag_seconds: int = 0
    scroll_ttl_seconds: float = 60.0
    export_delay_seconds: float = 1.0
    export_expiry_seconds: float = 172_800
    plan_restricted: frozenset[str] = frozenset()
    search_timezone_offset: int = 0
    search_timezone: str = ""  # an IANA zone (with its daylight-saving changes); overrides the offset
    missing_permissions: frozenset[str] = frozenset()
    # extensions (see docs/simulator-contract.md)
    fault_slow_seconds: float = 2.0
    scroll_page_size: int = 100
    export_fail: bool = False

    def update(self, **values: Any) -> None:
        names = {f.name for f in dataclasses.fields(self)}
        for name, value in values.items():
            if name not in names:
                raise AttributeError(f"unknown knob {name!r}")
            if name in ("plan_restricted", "missing_permissions"):
                value = frozenset(value)
            elif name == "fault_kinds":
                value = tuple(value)
            setattr(self, name, value)

    @property
    def workspace_timezone(self) -> int | str:
        """What contact search's days are counted in: the named zone if set, else the fixed offset."""
        return self.search_timezone or self.search_timezone_offset

    def as_json(self) -> JSON:
        data = dataclasses.asdict(self)
        data["plan_restricted"] = sorted(self.plan_restricted)
        data["missing_permissions"] = sorted(self.missing_permissions)
        data["fault_kinds"] = list(self.fault_kinds)
        return data


class Middleware(SimParts):
    """Auth, rate limit, faults, Accept and plan checks around a route handler (mixed into SimServer)."""

    _rate_lock: threading.Lock
    _rate_window: int  # start (unix seconds) of the current 10-second window
    _rate_used: int
    _fault_rng: random.Random
    _fault_seed_used: int

    def _respond(
        self, req: Request, template: str | None, handler: Handler | None, conn: Connection
    ) -> Response | None:
        request_id = str(uuid.uuid4())
        if req.headers.get("Authorization", "") != f"Bearer {self.token}":
            return _error(401, "unauthorized", "Access Token Invalid", request_id)
        limit_headers, allowed = self._rate_limit()
        if not allowed:
            limit = limit_headers["X-RateLimit-Limit"]
            response = _error(
                429, "rate_limit_exceeded", f"Exceeded rate limit of {limit} in 10_seconds", request_id
            )
            response.headers.update(limit_headers)
            return response
        fault = self._draw_fault()
        if fault in ("500", "502", "503"):
            if template == "GET /companies/scroll":
                self._abort_scroll()  # routes/companies.py: an injected 500 ends the scroll
            codes = {
                "500": (
                    "server_error",
                    "Request failed due to an internal network error. Please restart the scroll operation."
                    if template == "GET /companies/scroll"
                    else "Server Error",
                ),
                "502": ("server_error", "Bad Gateway"),
                "503": ("service_unavailable", "Service Unavailable"),
            }
            code, message = codes[fault]
            response = _error(int(fault), code, message, request_id)
            response.headers.update(limit_headers)
            return response
        if fault == "reset":
            conn.reset()
            return None
        if fault == "slow":
            time.sleep(self.knobs.fault_slow_seconds)
        response = self._run_handler(req, template, handler, request_id)
        response.headers.update(limit_headers)
        if self.knobs.latency_ms:
            time.sleep(self._latency_seconds())
        if fault == "truncate":
            body = response.body if isinstance(response.body, bytes) else b"".join(response.body)
            response.body = body[: len(body) // 2]
            response.headers["Connection"] = "close"
        return response

    def _latency_seconds(self) -> float:
        """`latency_ms`, spread uniformly by ± `latency_jitter_ms` (real APIs answer unevenly)."""
        jitter = self.knobs.latency_jitter_ms
        spread = random.uniform(-jitter, jitter) if jitter else 0.0
        return max(0.0, self.knobs.latency_ms + spread) / 1000

    def _run_handler(
        self, req: Request, template: str | None, handler: Handler | None, request_id: str
    ) -> Response:
        download = template == "GET /download/content/data/{job}"
        if not _accepts(
            req.headers.get("Accept"), "application/octet-stream" if download else "application/json"
        ):
            wanted = "application/octet-stream" if download else "application/json"
            return _error(406, "not_acceptable", f"The Accept header must allow {wanted}", request_id)
        if template is None or handler is None:
            return _error(404, "not_found", "Resource Not Found", request_id)
        if template in self.knobs.plan_restricted:
            return _error(403, "api_plan_restricted", "Active subscription needed.", request_id)
        if template in self.knobs.missing_permissions:
            # A token without the app permission (scope) the endpoint needs. The spec has no example; the
            # code and its meaning are Intercom's error-code list ("The token or API Key is not allowed to
            # access the resource"), the status its HTTP reference ("403 Forbidden -- The request is not
            # allowed"). Assumed: the message is that description.
            message = "The token or API Key is not allowed to access the resource"
            return _error(403, "token_unauthorized", message, request_id)
        try:
            return handler(req)
        except ApiError as exc:
            return _error(exc.status, exc.code, exc.message, request_id, exc.field_name)
        except SearchError as exc:
            return _error(400, exc.code, exc.message, request_id)

    # --------------------------------------------------------------------------------------------- rate limit

    def _rate_limit(self) -> tuple[dict[str, str], bool]:
        limit_per_minute = self.knobs.rate_limit
        now = time.time()
        window = int(now // 10) * 10
        if not limit_per_minute:
            return {
                "X-RateLimit-Limit": "0",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(window + 10),
            }, True
        per_window = math.ceil(limit_per_minute / 6)
        with self._rate_lock:
            if window != self._rate_window:
                self._rate_window, self._rate_used = window, 0
            allowed = self._rate_used < per_window
            if allowed:
                self._rate_used += 1
            remaining = per_window - self._rate_used
        headers = {
            "X-RateLimit-Limit": str(per_window),
            "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": str(window + 10),
        }
        return headers, allowed

    # ------------------------------------------------------------------------------------------------ faults

    def _draw_fault(self) -> str | None:
        knobs = self.knobs
        if knobs.fault_rate <= 0 or not knobs.fault_kinds:
            return None
        with self._stats_lock:
            if knobs.fault_seed != self._fault_seed_used:
                self._fault_rng = random.Random(knobs.fault_seed)
                self._fault_seed_used = knobs.fault_seed
            if self._fault_rng.random() >= knobs.fault_rate:
                return None
            fault = self._fault_rng.choice(list(knobs.fault_kinds))
            self.fault_counts[fault] = self.fault_counts.get(fault, 0) + 1
            return fault


def _error(status: int, code: str, message: str, request_id: str, field_name: str | None = None) -> Response:
    return Response(status, render.error_body(code, message, request_id, field_name))


def _accepts(accept: str | None, wanted: str) -> bool:
    """Whether an Accept header allows `wanted`; a missing header counts as */* (lenient, as most servers)."""
    if not accept:
        return True
    major = wanted.split("/")[0]
    for item in accept.split(","):
        media = item.split(";")[0].strip().lower()
        if media in (wanted, "*/*", f"{major}/*"):
            return True
    return False
