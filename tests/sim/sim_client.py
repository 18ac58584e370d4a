"""A tiny keep-alive JSON client for the simulator's tests (imported by conftest and the test modules)."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

TOKEN = "sim-token"


class Client:
    """Minimal client: returns (status, headers, parsed JSON or raw bytes)."""

    def __init__(self, base_url: str, token: str = TOKEN) -> None:
        split = urlsplit(base_url)
        self.host, self.port = split.hostname or "127.0.0.1", split.port or 80
        self.token = token
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bool = False,
    ) -> tuple[int, dict[str, str], Any]:
        all_headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            **(headers or {}),
        }
        if path.startswith("http"):
            split = urlsplit(path)
            path = split.path + ("?" + split.query if split.query else "")
        payload = json.dumps(body) if body is not None else None
        try:
            self.conn.request(method, path, body=payload, headers=all_headers)
            response = self.conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            raise
        if response.getheader("Connection") == "close":
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        hdrs = {k.lower(): v for k, v in response.getheaders()}
        if raw:
            return response.status, hdrs, data
        return response.status, hdrs, json.loads(data) if data else None

    def get(self, path: str, **kw: Any) -> tuple[int, dict[str, str], Any]:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, dict[str, str], Any]:
        return self.request("POST", path, body if body is not None else {}, **kw)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, _, data = self.request(method, path, body)
        assert status == 200, (status, data)
        return data
