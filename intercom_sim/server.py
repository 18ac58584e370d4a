"""HTTP side: routing, auth, rate limit, faults, scroll, data export, counters, the /_sim/ control API."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import json
import math
import random
import re
import socket
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from . import render
from .render import dumps, envelope, join_array
from .search import (
    CONTACT_MODEL,
    CONVERSATION_MODEL,
    TICKET_MODEL,
    Compiler,
    Model,
    ResultSet,
    SearchCache,
    SearchError,
    build_results,
    decode_cursor,
    encode_cursor,
    value_key,
)
from .workspace import JSON, Workspace

MAX_PER_PAGE = 150
COMPANIES_LIST_LIMIT = 10_000  # POST /companies/list refuses pages past this many companies
EVENTS_MAX_AGE = 90 * 86_400
STATUS_TEXT = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    406: "Not Acceptable",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
DEFAULT_FAULT_KINDS = ("500", "502", "503", "reset", "truncate", "slow")
EXPORT_CSV_COLUMNS = (
    "user_id",
    "user_external_id",
    "company_id",
    "email",
    "name",
    "ruleset_id",
    "content_id",
    "content_type",
    "content_title",
    "ruleset_version_id",
    "receipt_id",
    "received_at",
    "series_id",
    "series_title",
    "node_id",
    "first_reply",
    "first_completion",
    "first_series_completion",
    "first_series_disengagement",
    "first_series_exit",
    "first_goal_success",
    "first_open",
    "first_click",
    "first_dismisall",
    "first_unsubscribe",
    "first_hard_bounce",
)


@dataclass
class Knobs:
    latency_ms: float = 0
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
    # extensions (see docs/simulator-contract.md)
    fault_slow_seconds: float = 2.0
    scroll_page_size: int = 100
    export_fail: bool = False

    def update(self, **values: Any) -> None:
        names = {f.name for f in dataclasses.fields(self)}
        for name, value in values.items():
            if name not in names:
                raise AttributeError(f"unknown knob {name!r}")
            if name == "plan_restricted":
                value = frozenset(value)
            elif name == "fault_kinds":
                value = tuple(value)
            setattr(self, name, value)

    def as_json(self) -> JSON:
        data = dataclasses.asdict(self)
        data["plan_restricted"] = sorted(self.plan_restricted)
        data["fault_kinds"] = list(self.fault_kinds)
        return data


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


@dataclass
class Scroll:
    param: str
    company_ids: list[str]
    position: int = 0
    last_used: float = 0.0
    finished: bool = False


@dataclass
class ExportJob:
    job_identifier: str
    created_at_after: int
    created_at_before: int
    created_wall: float
    final_status: str | None = None
    completed_wall: float | None = None
    rows: list[JSON] = field(default_factory=list)


Handler = Callable[[Request], Response]


class SimServer:
    """A running simulator. `base_url`, `stop()`, knobs, counters, request log."""

    def __init__(
        self, ws: Workspace, port: int = 0, token: str = "sim-token", host: str = "127.0.0.1", **knobs: Any
    ) -> None:
        self.ws = ws
        self.token = token
        self.knobs = Knobs()
        self.knobs.update(**knobs)
        self.counters: dict[str, int] = {}
        self.status_counts: dict[int, int] = {}
        self.request_count = 0
        self.request_log: deque[tuple[str, str, dict[str, str]]] = deque(maxlen=10_000)
        self._stats_lock = threading.Lock()
        self._rate_lock = threading.Lock()
        self._rate_window = 0
        self._rate_used = 0
        self._fault_rng = random.Random(self.knobs.fault_seed)
        self._fault_seed_used = self.knobs.fault_seed
        self._state_lock = threading.Lock()
        self._scroll: Scroll | None = None
        self._exports: dict[str, ExportJob] = {}
        self._export_rng = random.Random(ws.seed)
        self._search_cache = SearchCache()
        self._routes = self._build_routes()
        self._httpd = _HTTPServer((host, port), _RequestHandler, self)
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="intercom-sim", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------------------------------------- lifecycle

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SimServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def reset_counters(self) -> None:
        with self._stats_lock:
            self.counters.clear()
            self.status_counts.clear()
            self.request_count = 0

    # ----------------------------------------------------------------------------------------------- dispatch

    def handle(self, req: Request, conn: _RequestHandler) -> None:
        if req.path.startswith("/_sim/"):
            conn.send(self._control(req))
            return
        template, handler = self._match(req)
        self._record(req, template)
        response = self._respond(req, template, handler, conn)
        if response is not None:
            with self._stats_lock:
                self.status_counts[response.status] = self.status_counts.get(response.status, 0) + 1
            conn.send(response)

    def _record(self, req: Request, template: str | None) -> None:
        headers = {k: ("<redacted>" if k.lower() == "authorization" else v) for k, v in req.headers.items()}
        target = req.path + ("?" + urlencode(req.query) if req.query else "")
        with self._stats_lock:
            self.request_count += 1
            if template is not None:
                self.counters[template] = self.counters.get(template, 0) + 1
            self.request_log.append((req.method, target, headers))

    def _respond(
        self, req: Request, template: str | None, handler: Handler | None, conn: _RequestHandler
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
                self._abort_scroll()
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
            time.sleep(self.knobs.latency_ms / 1000)
        if fault == "truncate":
            body = response.body if isinstance(response.body, bytes) else b"".join(response.body)
            response.body = body[: len(body) // 2]
            response.headers["Connection"] = "close"
        return response

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
        try:
            return handler(req)
        except ApiError as exc:
            return _error(exc.status, exc.code, exc.message, request_id, exc.field_name)
        except SearchError as exc:
            return _error(400, exc.code, exc.message, request_id)

    def _match(self, req: Request) -> tuple[str | None, Handler | None]:
        for method, pattern, template, handler in self._routes:
            if method != req.method:
                continue
            match = pattern.fullmatch(req.path)
            if match:
                req.params = match.groupdict()
                return template, handler
        return None, None

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
            return self._fault_rng.choice(list(knobs.fault_kinds))

    # ------------------------------------------------------------------------------------------------ routes

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], str, Handler]]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/me", self.get_me),
            ("GET", "/admins", self.list_admins),
            ("GET", "/admins/activity_logs", self.list_activity_logs),
            ("GET", "/admins/{id}", self.get_admin),
            ("GET", "/teams", self.list_teams),
            ("GET", "/teams/{id}", self.get_team),
            ("GET", "/tags", self.list_tags),
            ("GET", "/tags/{id}", self.get_tag),
            ("GET", "/segments", self.list_segments),
            ("GET", "/segments/{id}", self.get_segment),
            ("GET", "/subscription_types", self.list_subscription_types),
            ("GET", "/data_attributes", self.list_data_attributes),
            ("GET", "/contacts", self.list_contacts),
            ("POST", "/contacts/search", self.search_contacts),
            ("GET", "/contacts/{id}", self.get_contact),
            ("GET", "/contacts/{id}/tags", self.contact_tags),
            ("GET", "/contacts/{id}/notes", self.contact_notes),
            ("GET", "/contacts/{id}/companies", self.contact_companies),
            ("GET", "/contacts/{id}/segments", self.contact_segments),
            ("GET", "/contacts/{id}/subscriptions", self.contact_subscriptions),
            ("GET", "/companies", self.find_companies),
            ("POST", "/companies/list", self.list_companies),
            ("GET", "/companies/scroll", self.scroll_companies),
            ("GET", "/companies/{id}", self.get_company),
            ("GET", "/companies/{id}/contacts", self.company_contacts),
            ("GET", "/companies/{id}/segments", self.company_segments),
            ("GET", "/conversations", self.list_conversations),
            ("POST", "/conversations/search", self.search_conversations),
            ("GET", "/conversations/{id}", self.get_conversation),
            ("POST", "/tickets/search", self.search_tickets),
            ("GET", "/tickets/{id}", self.get_ticket),
            ("GET", "/ticket_types", self.list_ticket_types),
            ("GET", "/ticket_types/{id}", self.get_ticket_type),
            ("GET", "/notes/{id}", self.get_note),
            ("GET", "/events", self.list_events),
            ("GET", "/articles", self.list_articles),
            ("GET", "/articles/{id}", self.get_article),
            ("GET", "/help_center/collections", self.list_collections),
            ("GET", "/help_center/collections/{id}", self.get_collection),
            ("GET", "/help_center/help_centers", self.list_help_centers),
            ("GET", "/help_center/help_centers/{id}", self.get_help_center),
            ("GET", "/news/news_items", self.list_news_items),
            ("GET", "/news/news_items/{id}", self.get_news_item),
            ("GET", "/news/newsfeeds", self.list_newsfeeds),
            ("GET", "/news/newsfeeds/{id}", self.get_newsfeed),
            ("GET", "/news/newsfeeds/{id}/items", self.list_newsfeed_items),
            ("POST", "/export/content/data", self.create_export),
            ("GET", "/export/content/data/{job}", self.get_export),
            ("POST", "/export/cancel/{job}", self.cancel_export),
            ("GET", "/download/content/data/{job}", self.download_export),
        ]
        routes = []
        for method, template, handler in table:
            pattern = re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template))
            routes.append((method, pattern, f"{method} {template}", handler))
        return routes

    # -------------------------------------------------------------------------------------------- admins etc.

    def get_me(self, req: Request) -> Response:
        admin = next(iter(self.ws.admins.values()))
        me = {
            **admin,
            "email_verified": True,
            "avatar": {"type": "avatar", "image_url": admin["avatar"]["image_url"]},
            "app": {
                "type": "app",
                "id_code": self.ws.workspace_id,
                "name": "Sim Workspace ✨",
                "created_at": self.ws.clock.now() - 800 * 86_400,
                "secure": False,
                "identity_verification": False,
                "timezone": _tz_name(self.knobs.search_timezone_offset),
                "region": "US",
            },
        }
        return ok(dumps(me))

    def list_admins(self, req: Request) -> Response:
        return ok(dumps({"type": "admin.list", "admins": list(self.ws.admins.values())}))

    def get_admin(self, req: Request) -> Response:
        return ok(dumps(_lookup(self.ws.admins, req.params["id"], "admin_not_found", "Admin not found")))

    def list_teams(self, req: Request) -> Response:
        return ok(dumps({"type": "team.list", "teams": list(self.ws.teams.values())}))

    def get_team(self, req: Request) -> Response:
        return ok(dumps(_lookup(self.ws.teams, req.params["id"], "team_not_found", "Team not found")))

    def list_tags(self, req: Request) -> Response:
        return ok(dumps({"type": "list", "data": list(self.ws.tags.values())}))

    def get_tag(self, req: Request) -> Response:
        return ok(dumps(_lookup(self.ws.tags, req.params["id"], "tag_not_found", "Resource Not Found")))

    def _segment_counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(self.ws.segments, 0)
        for cid in self.ws.contacts:
            for seg_id in self.ws.contact_segments.get(cid, ()):
                counts[seg_id] += 1
        return counts

    def list_segments(self, req: Request) -> Response:
        segments = list(self.ws.segments.values())
        if req.query.get("include_count") == "true":
            counts = self._segment_counts()
            segments = [{**s, "count": counts[s["id"]]} for s in segments]
        return ok(dumps({"type": "segment.list", "segments": segments}))

    def get_segment(self, req: Request) -> Response:
        return ok(dumps(_lookup(self.ws.segments, req.params["id"])))

    def list_subscription_types(self, req: Request) -> Response:
        return ok(dumps({"type": "list", "data": list(self.ws.subscription_types.values())}))

    def list_data_attributes(self, req: Request) -> Response:
        model = req.query.get("model")
        if model is not None and model not in ("contact", "company", "conversation"):
            raise ApiError(
                400, "parameter_invalid", "model must be one of contact, company, conversation", "model"
            )
        include_archived = req.query.get("include_archived") == "true"
        data = [
            a
            for a in self.ws.data_attributes
            if (model is None or a["model"] == model) and (include_archived or not a["archived"])
        ]
        return ok(dumps({"type": "list", "data": data}))

    def list_activity_logs(self, req: Request) -> Response:
        after = req.query.get("created_at_after")
        if after is None:
            raise ApiError(400, "parameter_not_found", "created_at_after is required", "created_at_after")
        low = req.int_param("created_at_after", 0)
        high = req.int_param("created_at_before", 2**62)
        logs = sorted(
            (log for log in self.ws.activity_logs.values() if low <= log["created_at"] <= high),
            key=lambda log: (-log["created_at"], log["id"]),
        )
        items, page, per_page = page_slice(req, logs, 20)
        return ok(
            dumps(
                {
                    "type": "activity_log.list",
                    "pages": render.numbered_pages(page, per_page, len(logs), null_next=True),
                    "activity_logs": items,
                }
            )
        )

    # ----------------------------------------------------------------------------------------------- contacts

    def _contact(self, cid: str) -> JSON:
        contact = self.ws.contacts.get(cid)
        if contact is None:
            raise not_found("not_found", "User Not Found")
        return contact

    def list_contacts(self, req: Request) -> Response:
        per_page = per_page_of(req, 50)
        results = self._results("contacts:list", CONTACT_MODEL, lambda obj: True, None, visible_only=False)
        return ok(
            self._cursor_page(
                req.query.get("starting_after"),
                per_page,
                False,
                results,
                self._contact_items,
                {"type": "list"},
                "data",
            )
        )

    def search_contacts(self, req: Request) -> Response:
        return self._search(
            req,
            CONTACT_MODEL,
            50,
            {"type": "list"},
            "data",
            self._contact_items,
        )

    def _contact_items(self, ids: list[str]) -> list[bytes]:
        # .get: a contact removed by a concurrent mutation after the result set was built is skipped.
        contacts = (self.ws.contacts.get(i) for i in ids)
        return join_array(render.contact_bytes(self.ws, c) for c in contacts if c is not None)

    def get_contact(self, req: Request) -> Response:
        return ok(render.contact_bytes(self.ws, self._contact(req.params["id"])))

    def contact_tags(self, req: Request) -> Response:
        contact = self._contact(req.params["id"])
        # Each tag with when and by whom it was applied to this contact, as the spec's example shows.
        return ok(dumps({"type": "list", "data": self.ws.contact_tags(contact["id"])}))

    def contact_notes(self, req: Request) -> Response:
        notes = self.ws.contact_notes(self._contact(req.params["id"])["id"])
        notes.sort(key=lambda n: (-n["created_at"], -int(n["id"])))
        items, page, per_page = page_slice(req, notes, 50)
        return ok(
            dumps(
                {
                    "type": "list",
                    "data": items,
                    "total_count": len(notes),
                    "pages": render.numbered_pages(page, per_page, len(notes), null_next=True),
                }
            )
        )

    def contact_companies(self, req: Request) -> Response:
        cid = self._contact(req.params["id"])["id"]
        companies = [self.ws.companies[c] for c in self.ws.contact_company_ids(cid) if c in self.ws.companies]
        items, page, per_page = page_slice(req, companies, 50)
        total_pages = max(1, -(-len(companies) // per_page))
        next_url = (
            f"{self.base_url}/contacts/{cid}/companies?page={page + 1}&per_page={per_page}"
            if page < total_pages
            else None
        )
        # The schema names the array `companies`; the spec's example (the real API) uses `data`.
        pages = {
            "type": "pages",
            "next": next_url,
            "page": page,
            "per_page": per_page,
            "total_pages": total_pages,
        }
        body = envelope(
            {"type": "list"},
            "data",
            join_array(render.company_bytes(self.ws, c) for c in items),
            {"pages": pages, "total_count": len(companies)},
        )
        return ok(body)

    def contact_segments(self, req: Request) -> Response:
        cid = self._contact(req.params["id"])["id"]
        return ok(
            dumps({"type": "list", "data": [self.ws.segments[s] for s in self.ws.contact_segment_ids(cid)]})
        )

    def contact_subscriptions(self, req: Request) -> Response:
        cid = self._contact(req.params["id"])["id"]
        data = [self.ws.subscription_types[s] for s, _ in self.ws.contact_subscriptions(cid)]
        return ok(dumps({"type": "list", "data": data}))

    # ---------------------------------------------------------------------------------------------- companies

    def _company(self, company_id: str) -> JSON:
        company = self.ws.companies.get(company_id)
        if company is None:
            raise not_found("company_not_found", "Company Not Found")
        return company

    def get_company(self, req: Request) -> Response:
        return ok(render.company_bytes(self.ws, self._company(req.params["id"])))

    def find_companies(self, req: Request) -> Response:
        matches = list(self.ws.companies.values())
        if "company_id" in req.query:
            matches = [c for c in matches if c["company_id"] == req.query["company_id"]]
        if "name" in req.query:
            matches = [c for c in matches if c["name"] == req.query["name"]]
        if "tag_id" in req.query:
            matches = [c for c in matches if any(t["id"] == req.query["tag_id"] for t in c["tags"]["tags"])]
        if "segment_id" in req.query:
            seg = req.query["segment_id"]
            matches = [c for c in matches if seg in self.ws.company_segments.get(c["id"], ())]
        if not matches and any(k in req.query for k in ("company_id", "name")):
            raise not_found("company_not_found", "Company Not Found")
        items, page, per_page = page_slice(req, matches, 15)
        return ok(
            envelope(
                {"type": "list"},
                "data",
                join_array(render.company_bytes(self.ws, c) for c in items),
                {
                    "pages": render.numbered_pages(page, per_page, len(matches), null_next=True),
                    "total_count": len(matches),
                },
            )
        )

    def list_companies(self, req: Request) -> Response:
        body = req.json()
        page = max(1, req.int_param("page", 1, body))
        per_page = per_page_of(req, 15, body)
        order = str(body.get("order", req.query.get("order", "desc")))
        if (page - 1) * per_page >= COMPANIES_LIST_LIMIT:
            raise ApiError(400, "bad_request", "page limit reached, please use scroll API")
        # Companies with no associated users are not returned (spec).
        with_users = [c for c in self.ws.companies.values() if c["user_count"] > 0]
        with_users.sort(
            key=lambda c: (value_key(c["last_request_at"]), len(c["id"]), c["id"]), reverse=order != "asc"
        )
        items = with_users[(page - 1) * per_page : page * per_page]
        return ok(
            envelope(
                {"type": "list"},
                "data",
                join_array(render.company_bytes(self.ws, c) for c in items),
                {
                    "pages": render.numbered_pages(page, per_page, len(with_users), null_next=True),
                    "total_count": len(with_users),
                },
            )
        )

    def scroll_companies(self, req: Request) -> Response:
        param = req.query.get("scroll_param")
        with self._state_lock:
            scroll = self._live_scroll()
            if not param:
                if scroll is not None:
                    raise ApiError(400, "bad_request", "scroll already exists for this app")
                scroll = Scroll(
                    uuid.UUID(int=self._export_rng.getrandbits(128), version=4).hex, list(self.ws.companies)
                )
                self._scroll = scroll
            elif scroll is None or scroll.param != param or scroll.finished:
                raise not_found("not_found", "scroll parameter not found")
            scroll.last_used = time.monotonic()
            ids = scroll.company_ids[scroll.position : scroll.position + self.knobs.scroll_page_size]
            scroll.position += len(ids)
            if not ids:
                scroll.finished = True  # the end: an empty page; the parameter is then gone (404)
                self._scroll = None
        companies = [self.ws.companies[i] for i in ids if i in self.ws.companies]
        return ok(
            envelope(
                {"type": "list"},
                "data",
                join_array(render.company_bytes(self.ws, c) for c in companies),
                {"pages": None, "total_count": None, "scroll_param": scroll.param},
            )
        )

    def _live_scroll(self) -> Scroll | None:
        scroll = self._scroll
        if scroll is not None and time.monotonic() - scroll.last_used > self.knobs.scroll_ttl_seconds:
            self._scroll = scroll = None
        return scroll

    def _abort_scroll(self) -> None:
        with self._state_lock:
            self._scroll = None

    def company_contacts(self, req: Request) -> Response:
        company = self._company(req.params["id"])
        cids = [c for c in self.ws.company_contacts.get(company["id"], []) if c in self.ws.contacts]
        items, page, per_page = page_slice(req, cids, 50)
        return ok(
            envelope(
                {"type": "list"},
                "data",
                join_array(render.contact_bytes(self.ws, self.ws.contacts[c]) for c in items),
                {"total_count": len(cids), "pages": render.numbered_pages(page, per_page, len(cids))},
            )
        )

    def company_segments(self, req: Request) -> Response:
        company = self._company(req.params["id"])
        segs = [self.ws.segments[s] for s in self.ws.company_segment_ids(company["id"])]
        return ok(dumps({"type": "list", "data": segs}))

    # ------------------------------------------------------------------------------------------ conversations

    def list_conversations(self, req: Request) -> Response:
        per_page = per_page_of(req, 20)
        results = self._results(
            "conversations:list", CONVERSATION_MODEL, lambda obj: True, None, visible_only=False
        )
        return ok(
            self._cursor_page(
                req.query.get("starting_after"),
                per_page,
                False,
                results,
                self._conversation_items,
                {"type": "conversation.list"},
                "conversations",
            )
        )

    def _conversation_items(self, ids: list[str]) -> bytes:
        return join_array(render.conversation_item_bytes(self.ws, self.ws.conversations[i]) for i in ids)

    def search_conversations(self, req: Request) -> Response:
        return self._search(
            req,
            CONVERSATION_MODEL,
            20,
            {"type": "conversation.list"},
            "conversations",
            self._conversation_items,
        )

    def get_conversation(self, req: Request) -> Response:
        conversation = self.ws.conversations.get(req.params["id"])
        if conversation is None:
            raise not_found("not_found", "Resource Not Found")
        return ok(render.conversation_full_bytes(self.ws, conversation))

    # ------------------------------------------------------------------------------------------------ tickets

    def search_tickets(self, req: Request) -> Response:
        # The spec's examples show ticket search results with their ticket_parts (newest 500).
        return self._search(
            req,
            TICKET_MODEL,
            20,
            {"type": "ticket.list"},
            "tickets",
            lambda ids: join_array(render.ticket_bytes(self.ws, self.ws.tickets[i]) for i in ids),
        )

    def get_ticket(self, req: Request) -> Response:
        ticket = self.ws.tickets.get(req.params["id"])
        if ticket is None:
            raise not_found("ticket_not_found", "Ticket not found")
        return ok(render.ticket_bytes(self.ws, ticket))

    def list_ticket_types(self, req: Request) -> Response:
        # Schema: {type: "ticket_type_attributes.list", ticket_types: [...]}; example (real API): list/data.
        return ok(dumps({"type": "list", "data": list(self.ws.ticket_types.values())}))

    def get_ticket_type(self, req: Request) -> Response:
        return ok(dumps(_lookup(self.ws.ticket_types, req.params["id"])))

    # ------------------------------------------------------------------------------------------ notes, events

    def get_note(self, req: Request) -> Response:
        note = _lookup(self.ws.notes, req.params["id"])
        if note["contact"]["id"] not in self.ws.contacts:
            raise not_found()
        return ok(dumps(note))

    def list_events(self, req: Request) -> Response:
        if req.query.get("type") != "user":
            raise ApiError(400, "parameter_invalid", "type must be user", "type")
        contact = self._event_contact(req.query)
        per_page = per_page_of(req, 50)
        horizon = (
            self.ws.clock.now() - EVENTS_MAX_AGE
        )  # "you can only 'list' events that are less than 90 days old"
        events = sorted(
            (e for e in self.ws.contact_events(contact["id"]) if e["created_at"] >= horizon),
            key=lambda e: (-e["created_at"], -int(e["id"])),
        )
        head = {
            "type": "event.summary",
            "email": contact["email"],
            "intercom_user_id": contact["id"],
            "user_id": contact["external_id"] or "",
        }
        if req.query.get("summary") == "true":
            return ok(dumps({**head, "events": _event_summaries(events)}))
        start = req.int_param("starting_after", 0)
        page = events[start : start + per_page]
        # `next`: the next page's URL; null on the last page, as the page lists' examples show theirs
        pages: JSON = {"next": None}
        if start + per_page < len(events):
            query = {k: v for k, v in req.query.items() if k != "starting_after"}
            pages["next"] = (
                f"{self.base_url}/events?{urlencode({**query, 'starting_after': start + per_page})}"
            )
        # 2.11 declares data_event_summary for this response. The real items are data_event objects; each also
        # carries the data_event_summary_item fields (one event: count 1) so that it satisfies the schema.
        events_json = [
            {
                **e,
                "name": e["event_name"],
                "first": str(e["created_at"]),
                "last": str(e["created_at"]),
                "count": 1,
            }
            for e in page
        ]
        return ok(dumps({**head, "events": events_json, "pages": pages}))

    def _event_contact(self, query: dict[str, str]) -> JSON:
        if "intercom_user_id" in query:
            return self._contact(query["intercom_user_id"])
        key, field_name = (
            ("user_id", "external_id")
            if "user_id" in query
            else ("email", "email")
            if "email" in query
            else (None, None)
        )
        if key is None or field_name is None:
            raise ApiError(
                400, "parameter_not_found", "one of intercom_user_id, user_id or email is required"
            )
        for contact in self.ws.contacts.values():
            if contact[field_name] == query[key]:
                return contact
        raise not_found("not_found", "User Not Found")

    # ------------------------------------------------------------------------------------------------ content

    def list_articles(self, req: Request) -> Response:
        articles = sorted(self.ws.articles.values(), key=lambda a: (-a["updated_at"], a["id"]))
        # list items carry no statistics (article_list_item); GET /articles/{id} does
        items = [{key: value for key, value in a.items() if key != "statistics"} for a in articles]
        return ok(self._paged_list(req, items))

    def get_article(self, req: Request) -> Response:
        return ok(dumps(_lookup(self.ws.articles, req.params["id"])))

    def list_collections(self, req: Request) -> Response:
        collections = sorted(self.ws.collections.values(), key=lambda c: (-c["updated_at"], c["id"]))
        return ok(self._paged_list(req, collections))

    def get_collection(self, req: Request) -> Response:
        return ok(dumps(_lookup(self.ws.collections, req.params["id"])))

    def list_help_centers(self, req: Request) -> Response:
        return ok(self._paged_list(req, list(self.ws.help_centers.values())))

    def get_help_center(self, req: Request) -> Response:
        return ok(dumps(_lookup(self.ws.help_centers, req.params["id"])))

    def list_news_items(self, req: Request) -> Response:
        return ok(self._paged_list(req, list(self.ws.news_items.values())))

    def get_news_item(self, req: Request) -> Response:
        return ok(dumps(_lookup(self.ws.news_items, req.params["id"])))

    def list_newsfeeds(self, req: Request) -> Response:
        return ok(self._paged_list(req, list(self.ws.newsfeeds.values())))

    def get_newsfeed(self, req: Request) -> Response:
        return ok(dumps(_lookup(self.ws.newsfeeds, req.params["id"])))

    def list_newsfeed_items(self, req: Request) -> Response:
        feed = _lookup(self.ws.newsfeeds, req.params["id"])
        live = [
            item
            for item in self.ws.news_items.values()
            if item["state"] == "live"
            and any(str(a["newsfeed_id"]) == feed["id"] for a in item["newsfeed_assignments"])
        ]
        return ok(self._paged_list(req, live))

    def _paged_list(self, req: Request, items: list[JSON]) -> bytes:
        page_items, page, per_page = page_slice(req, items, 50)
        return dumps(
            {
                "type": "list",
                "pages": render.numbered_pages(page, per_page, len(items)),
                "total_count": len(items),
                "data": page_items,
            }
        )

    # ------------------------------------------------------------------------------------------------ export

    def create_export(self, req: Request) -> Response:
        body = req.json()
        try:
            after, before = int(body["created_at_after"]), int(body["created_at_before"])
        except KeyError as exc:
            raise ApiError(400, "parameter_not_found", f"{exc.args[0]} is required", exc.args[0]) from None
        except (TypeError, ValueError):
            raise ApiError(
                400, "parameter_invalid", "created_at_after/created_at_before must be integers"
            ) from None
        with self._state_lock:
            if any(self._export_status(job) in ("pending", "in_progress") for job in self._exports.values()):
                raise ApiError(
                    429, "rate_limit_exceeded", "Exceeded rate limit of 1 pending message data export jobs"
                )
            job_id = "".join(
                self._export_rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(15)
            )
            job = ExportJob(job_id, after, before, time.monotonic())
            self._exports[job_id] = job
            return ok(dumps(self._export_json(job)))

    def _export_status(self, job: ExportJob) -> str:
        if job.final_status is not None:
            return job.final_status
        elapsed = time.monotonic() - job.created_wall
        delay = self.knobs.export_delay_seconds
        if elapsed < delay / 2:
            return "pending"
        if elapsed < delay:
            return "in_progress"
        job.completed_wall = time.time()
        if self.knobs.export_fail:
            job.final_status = "failed"
            return job.final_status
        job.rows = [
            row
            for row in self.ws.export_rows
            if job.created_at_after <= row["received_at"] <= job.created_at_before
        ]
        job.final_status = "completed" if job.rows else "no_data"
        return job.final_status

    def _export_json(self, job: ExportJob) -> JSON:
        status = self._export_status(job)
        done = status == "completed" and job.completed_wall is not None
        return {
            "job_identifier": job.job_identifier,
            "status": status,
            "download_url": f"{self.base_url}/download/content/data/{job.job_identifier}" if done else "",
            "download_expires_at": str(int((job.completed_wall or 0) + self.knobs.export_expiry_seconds))
            if done
            else "",
        }

    def _export(self, job_id: str) -> ExportJob:
        job = self._exports.get(job_id)
        if job is None:
            raise not_found("not_found", "Export job not found")
        return job

    def get_export(self, req: Request) -> Response:
        with self._state_lock:
            return ok(dumps(self._export_json(self._export(req.params["job"]))))

    def cancel_export(self, req: Request) -> Response:
        with self._state_lock:
            job = self._export(req.params["job"])
            if self._export_status(job) in ("pending", "in_progress"):
                job.final_status = "canceled"
            return ok(dumps(self._export_json(job)))

    def download_export(self, req: Request) -> Response:
        with self._state_lock:
            job = self._export(req.params["job"])
            status = self._export_status(job)
        if status != "completed":
            raise not_found("not_found", f"Export job is {status}")
        if (
            job.completed_wall is not None
            and time.time() > job.completed_wall + self.knobs.export_expiry_seconds
        ):
            raise not_found("not_found", "Export has expired")
        return Response(
            200,
            _gzipped_csv(job.rows),
            "application/octet-stream",
            {"Content-Disposition": f'attachment; filename="{job.job_identifier}.csv.gz"'},
        )

    # -------------------------------------------------------------------------------------------- search core

    def _results(
        self,
        name: str,
        model: Model,
        predicate: Callable[[JSON], bool],
        sort_field: str | None,
        *,
        visible_only: bool,
        query_key: str = "",
    ) -> ResultSet:
        ws = self.ws
        store = {"contact": ws.contacts, "conversation": ws.conversations, "ticket": ws.tickets}[model.name]
        hidden = self._lagging_contacts() if visible_only and model.name == "contact" else frozenset()
        sort_get = Compiler(ws, model).getter(sort_field) if sort_field else (lambda obj: None)
        key = (name, query_key, sort_field, ws.version, hidden, self.knobs.search_timezone_offset)

        def build() -> ResultSet:
            with ws.lock:
                objects = (
                    [o for o in store.values() if o["id"] not in hidden] if hidden else list(store.values())
                )
            return build_results(objects, predicate, sort_get)

        return self._search_cache.get_or_build(key, build)

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
        compiler = Compiler(self.ws, model, self.knobs.search_timezone_offset)
        predicate = compiler.compile(body["query"])
        if sort_field is not None:
            compiler.field_type(sort_field)
        query_key = json.dumps(body["query"], sort_keys=True)
        results = self._results(
            f"{model.name}:search", model, predicate, sort_field, visible_only=True, query_key=query_key
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

    # ------------------------------------------------------------------------------------------------ /_sim/

    def _control(self, req: Request) -> Response:
        try:
            return self._control_dispatch(req)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return Response(400, dumps({"error": f"{type(exc).__name__}: {exc}"}))

    def _control_dispatch(self, req: Request) -> Response:
        body = json.loads(req.raw_body) if req.raw_body else {}
        route = (req.method, req.path)
        if route == ("GET", "/_sim/counters"):
            with self._stats_lock:
                return ok(
                    dumps(
                        {
                            "counters": self.counters,
                            "request_count": self.request_count,
                            "status_counts": {str(k): v for k, v in self.status_counts.items()},
                        }
                    )
                )
        if route == ("POST", "/_sim/counters/reset"):
            self.reset_counters()
            return ok(b"{}")
        if route == ("POST", "/_sim/clock"):
            if "set" in body:
                self.ws.clock.set(body["set"])
            if "advance" in body:
                self.ws.clock.advance(body["advance"])
            return ok(dumps({"now": self.ws.clock.now()}))
        if route == ("GET", "/_sim/clock"):
            return ok(dumps({"now": self.ws.clock.now()}))
        if route == ("POST", "/_sim/knobs"):
            self.knobs.update(**body)
            return ok(dumps(self.knobs.as_json()))
        if route == ("GET", "/_sim/knobs"):
            return ok(dumps(self.knobs.as_json()))
        if route == ("POST", "/_sim/mutate"):
            result = self.ws.mutation(body["op"])(*body.get("args", []), **body.get("kwargs", {}))
            return ok(dumps({"result": result}))
        return Response(404, dumps({"error": "unknown control endpoint"}))


# ---------------------------------------------------------------------------------------------------- helpers


def _error(status: int, code: str, message: str, request_id: str, field_name: str | None = None) -> Response:
    return Response(status, render.error_body(code, message, request_id, field_name))


def _lookup(
    store: dict[str, JSON], obj_id: str, code: str = "not_found", message: str = "Resource Not Found"
) -> JSON:
    obj = store.get(obj_id)
    if obj is None:
        raise not_found(code, message)
    return obj


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


def _event_summaries(events: list[JSON]) -> list[JSON]:
    by_name: dict[str, list[int]] = {}
    for event in events:
        by_name.setdefault(event["event_name"], []).append(event["created_at"])
    return [
        {
            "name": name,
            "first": str(min(times)),
            "last": str(max(times)),
            "count": len(times),
            "description": "",
        }
        for name, times in by_name.items()
    ]


def _gzipped_csv(rows: list[JSON]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(EXPORT_CSV_COLUMNS)
    for row in rows:
        writer.writerow(["" if row.get(col) is None else row[col] for col in EXPORT_CSV_COLUMNS])
    return gzip.compress(text.getvalue().encode(), mtime=0)


def _tz_name(offset: int) -> str:
    if offset == 0:
        return "Etc/UTC"
    hours = offset // 3600
    return f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"  # POSIX-style names invert the sign


# ---------------------------------------------------------------------------------------------- HTTP plumbing


_IOV_MAX = 1024


def _send_all(sock: socket.socket, chunks: list[bytes]) -> None:
    """sendmsg() the chunks (at most IOV_MAX per call), resuming after partial sends."""
    views = [memoryview(c) for c in chunks if c]
    while views:
        sent = sock.sendmsg(views[:_IOV_MAX])
        while views and sent >= len(views[0]):
            sent -= len(views[0])
            views.pop(0)
        if sent:
            views[0] = views[0][sent:]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], sim: SimServer
    ) -> None:
        self.sim = sim
        super().__init__(address, handler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "intercom-sim"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Without TCP_NODELAY, Nagle + delayed ACK add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _handle_any(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, split.path, query, self.headers, body)
        self.server.sim.handle(request, self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle_any

    def send(self, response: Response) -> None:
        chunks = [response.body] if isinstance(response.body, bytes) else response.body
        length = sum(len(chunk) for chunk in chunks)
        head = [
            f"HTTP/1.1 {response.status} {STATUS_TEXT.get(response.status, 'Error')}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {length}",
        ]
        head += [f"{k}: {v}" for k, v in response.headers.items()]
        if response.headers.get("Connection") == "close":
            self.close_connection = True
        _send_all(self.connection, [("\r\n".join(head) + "\r\n\r\n").encode("latin-1"), *chunks])

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0)."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
