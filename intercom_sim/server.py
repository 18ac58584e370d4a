"""The transport: `SimServer` (an HTTP server on loopback in a background thread) and `start()`.

SimServer receives each request, matches it against the route table (`routes.ROUTES`), counts and logs it,
and passes it through the middleware (`middleware.py`) to its handler (`routes/`); `/_sim/...` goes to the
control API (`control.py`). Responses are written with scatter-gather I/O on keep-alive connections.

The names the simulator's users import from here stay here (`Knobs`, `EXPORT_CSV_COLUMNS`, `Request`, ...);
`COMPANIES_LIST_LIMIT` can be monkeypatched on this module.
"""

from __future__ import annotations

import random
import re
import socket
import struct
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .api import (
    MAX_PER_PAGE,
    ApiError,
    Handler,
    Request,
    Response,
    not_found,
    ok,
    page_slice,
    per_page_of,
)
from .control import Control
from .middleware import DEFAULT_FAULT_KINDS, Knobs, Middleware
from .routes import ROUTES, Endpoints
from .routes.activity import EVENTS_MAX_AGE
from .routes.companies import Scroll
from .routes.exports import EXPORT_CSV_COLUMNS, ExportJob
from .search import SearchCache
from .workspace import Workspace

__all__ = [
    "COMPANIES_LIST_LIMIT",
    "DEFAULT_FAULT_KINDS",
    "EVENTS_MAX_AGE",
    "EXPORT_CSV_COLUMNS",
    "MAX_PER_PAGE",
    "STATUS_TEXT",
    "ApiError",
    "ExportJob",
    "Handler",
    "Knobs",
    "Request",
    "Response",
    "Scroll",
    "SimServer",
    "not_found",
    "ok",
    "page_slice",
    "per_page_of",
    "start",
]

COMPANIES_LIST_LIMIT = 10_000  # POST /companies/list refuses pages past this many companies
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


class SimServer(Endpoints, Middleware, Control):
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
        self.fault_counts: dict[str, int] = {}
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
            self.fault_counts.clear()
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

    def _match(self, req: Request) -> tuple[str | None, Handler | None]:
        for method, pattern, template, handler in self._routes:
            if method != req.method:
                continue
            match = pattern.fullmatch(req.path)
            if match:
                req.params = match.groupdict()
                return template, handler
        return None, None

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], str, Handler]]:
        routes = []
        for method, template, handler in ROUTES:
            pattern = re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template))
            # bound by name (`self.<handler>`): a handler patched on SimServer is the one served
            routes.append((method, pattern, f"{method} {template}", getattr(self, handler.__name__)))
        return routes

    def _companies_list_limit(self) -> int:
        return COMPANIES_LIST_LIMIT  # read at call time: tests monkeypatch server.COMPANIES_LIST_LIMIT


def start(workspace: Workspace, port: int = 0, token: str = "sim-token", **knobs: Any) -> SimServer:
    """Serve `workspace` on 127.0.0.1:`port` (0 = any free port) in a background thread."""
    return SimServer(workspace, port=port, token=token, **knobs)


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
