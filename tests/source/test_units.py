"""Unit tests of the pieces that need no server: rate limiter, query bodies, row shaping, input checks."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sources.intercom.client import RateLimiter, resolve_base_url
from sources.intercom.config import parse_date_range
from sources.intercom.errors import ConfigurationError
from sources.intercom.records import contact_row, conversation_row, convert_timestamps, part_rows
from sources.intercom.search import contacts_updated_query, exact_updated_query


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(int(reset)),
    }


def test_limiter_spends_the_window_budget_then_waits_for_reset() -> None:
    clock = FakeClock()
    limiter = RateLimiter(slowdown_fraction=0.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.release(headers(10, 5, clock.now + 10), 200)
    for _ in range(5):
        limiter.acquire()
        limiter.release(None, None)
    assert clock.slept == []
    limiter.acquire()  # budget spent: must wait for the reset
    assert clock.now >= 1_010
    assert sum(clock.slept) >= 10


def test_limiter_holds_every_request_after_a_429_until_reset() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.release(headers(10, 0, clock.now + 7), 429)
    limiter.acquire()
    assert clock.now >= 1_007


def test_limiter_spreads_the_last_part_of_a_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(slowdown_fraction=0.5, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.release(headers(100, 10, clock.now + 10), 200)
    for _ in range(5):
        limiter.acquire()
        limiter.release(None, None)
    # 10 left of 100 with 10 s to go: requests are spaced about a second apart, not sent at once
    assert 3.0 <= clock.now - 1_000 <= 10.0


def test_limiter_counts_requests_in_flight_against_the_budget() -> None:
    clock = FakeClock()
    limiter = RateLimiter(slowdown_fraction=0.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire()
    limiter.release(headers(10, 3, clock.now + 10), 200)  # 2 still in flight: only 1 left for us
    limiter.acquire()
    assert clock.slept == []
    limiter.acquire()
    assert clock.slept, "the fifth request must wait: the server will count the two in flight"


def test_an_answer_from_a_window_that_ended_does_not_cut_the_next_window_s_budget() -> None:
    """Requests in flight at a window's end are answered with that window's low count: the next window's
    budget stays whole (it once fell to the old window's 19, and requests trickled for 10 s)."""
    clock = FakeClock()
    limiter = RateLimiter(slowdown_fraction=0.05, clock=clock, sleep=clock.sleep)
    for _ in range(2):
        limiter.acquire()
    limiter.release(headers(1_000, 20, clock.now + 10), 200)  # the first window: 20 left, one in flight
    clock.now += 10  # the window ends
    limiter.acquire()
    limiter.release(headers(1_000, 999, clock.now + 10), 200)  # the new window, whole
    limiter.release(headers(1_000, 19, clock.now), 200)  # late: the old window's last answer
    started = clock.now
    for _ in range(500):
        limiter.acquire()
        limiter.release(None, None)
    assert clock.now == started, "500 requests of a 999 budget must not wait"


def test_contacts_query_covers_the_whole_start_day_with_equal_or_greater() -> None:
    query = contacts_updated_query(1_700_000_000, None)
    assert query == {
        "operator": "OR",
        "value": [
            {"field": "updated_at", "operator": "=", "value": 1_700_000_000},
            {"field": "updated_at", "operator": ">", "value": 1_700_000_000},
        ],
    }
    bounded = contacts_updated_query(1, 2)
    assert bounded["operator"] == "AND" and len(bounded["value"]) == 2
    assert {c["operator"] for c in bounded["value"][1]["value"]} == {"=", "<"}


def test_exact_query_is_a_half_open_range() -> None:
    assert exact_updated_query(5, None) == {"field": "updated_at", "operator": ">", "value": 5}
    assert exact_updated_query(5, 9)["value"][1] == {"field": "updated_at", "operator": "<", "value": 9}


def test_rows_convert_timestamps_and_drop_truncated_lists() -> None:
    contact = {
        "id": "c1",
        "updated_at": 1_700_000_000,
        "last_seen_at": None,
        "tags": {"type": "list", "data": [{"id": "1"}], "has_more": True},
        "companies": {"type": "list", "data": []},
        "social_profiles": {"type": "list", "data": [{"name": "x"}]},
        "custom_attributes": {"Renewal Date": 1_600_000_000, "score_at": 3},
        "location": {"city": "Oslo"},
    }
    row = contact_row(convert_timestamps(contact, frozenset({"Renewal Date"})))
    assert "tags" not in row and "companies" not in row
    assert row["updated_at"] == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert row["custom_attributes"] == {
        "Renewal Date": datetime.fromtimestamp(1_600_000_000, tz=UTC),
        "score_at": 3,
    }
    assert row["social_profiles"] == [{"name": "x"}]
    conversation = {
        "id": "7",
        "updated_at": 1,
        "waiting_since": 2,
        "contacts": {"type": "contact.list", "contacts": [{"id": "c1"}]},
        "tags": {"type": "tag.list", "tags": []},
        "statistics": {"first_close_at": 3, "count_reopens": 4},
        "conversation_parts": {"conversation_parts": [{"id": "p1", "created_at": 5}], "total_count": 1},
    }
    assert conversation_row(dict(conversation))["contacts"] == [{"id": "c1"}]
    parts = part_rows(convert_timestamps(conversation), "conversation_parts", "conversation_id")
    assert parts[0]["conversation_id"] == "7" and isinstance(parts[0]["created_at"], datetime)
    nested = convert_timestamps({"statistics": {"first_close_at": 3, "count_reopens": 4}})
    assert nested["statistics"]["count_reopens"] == 4


@pytest.mark.parametrize(
    ("region", "base_url", "expected"),
    [
        ("us", None, "https://api.intercom.io"),
        ("EU", None, "https://api.eu.intercom.io"),
        ("au", None, "https://api.au.intercom.io"),
        ("us", "http://127.0.0.1:8089/", "http://127.0.0.1:8089"),
        ("xx", "https://proxy.example.com", "https://proxy.example.com"),
    ],
)
def test_base_url_resolution(region: str, base_url: str | None, expected: str) -> None:
    assert resolve_base_url(region, base_url) == expected


@pytest.mark.parametrize(
    ("region", "base_url"), [("mars", None), ("us", "http://api.example.com"), ("us", "ftp://x"), ("", None)]
)
def test_bad_region_or_base_url_is_a_configuration_error(region: str, base_url: str | None) -> None:
    with pytest.raises(ConfigurationError):
        resolve_base_url(region, base_url)


def test_date_range_parsing() -> None:
    start, end = parse_date_range("2024-01-31", datetime(2024, 3, 1))
    assert start.isoformat() == "2024-01-31T00:00:00+00:00" and end is not None and end.month == 3
    assert parse_date_range(None, None)[0].year == 1970
    for bad in [
        ("2024-13-01", None),
        ("yesterday", None),
        ("2024-02-01", "2024-01-01"),
        ("2024-01-01", "2024-01-01"),
    ]:
        with pytest.raises(ConfigurationError):
            parse_date_range(*bad)


def test_requests_follow_the_environment_s_proxies_resolved_once_per_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The proxies from HTTP_PROXY / NO_PROXY are resolved once per host and then reused: every request to
    a proxied host goes through the proxy, and a host in NO_PROXY is reached directly."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from sources.intercom.client import make_client

    seen: list[str] = []

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen.append(f"{self.server.server_port} {self.path}")
            body = json.dumps({"type": "admin", "id": "1", "app": {"timezone": "UTC"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    proxy, direct = (
        ThreadingHTTPServer(("127.0.0.1", 0), Answer),
        ThreadingHTTPServer(("127.0.0.1", 0), Answer),
    )
    for server in (proxy, direct):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        proxied_url = f"http://localhost:{direct.server_port}"  # a host NO_PROXY does not name
        for _ in range(2):
            make_client("token", base_url=proxied_url).me()
        make_client("token", base_url=f"http://127.0.0.1:{direct.server_port}").me()
        client = make_client("token", base_url=proxied_url)
        client.me()
        client.me()
    finally:
        proxy.shutdown()
        direct.shutdown()
    via_proxy = f"{proxy.server_port} {proxied_url}/me"
    assert seen == [via_proxy, via_proxy, f"{direct.server_port} /me", via_proxy, via_proxy]


def test_a_body_read_whole_is_decoded_and_one_cut_short_is_asked_again() -> None:
    """Bodies are read in one call (`client._read_whole_body`), not 10 KB at a time: a gzip body comes out
    decoded, and a body shorter than its Content-Length (a dropped connection) is a transient fault, asked
    again, never handed on cut. The connection of a whole answer goes back to the pool and is reused."""
    import gzip
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from sources.intercom.client import make_client

    answers = iter(["cut", "gzip", "plain"])
    peers: list[int] = []
    page = json.dumps({"type": "admin", "id": "1", "name": "x" * 50_000}).encode()

    class Answer(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so a reused connection shows

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            peers.append(self.client_address[1])
            kind = next(answers)
            body = gzip.compress(page) if kind == "gzip" else page
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if kind == "gzip":
                self.send_header("Content-Encoding", "gzip")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if kind == "cut" else body)
            if kind == "cut":
                self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        client = make_client("token", base_url=url, retry_backoff_seconds=0)
        assert client.me()["name"] == "x" * 50_000  # cut, then asked again: the gzip answer
        assert client.me()["name"] == "x" * 50_000  # plain, on the same connection
    finally:
        server.shutdown()
    assert client.request_count == 3
    assert peers[1] != peers[0] and peers[2] == peers[1]


def test_a_schema_save_cut_off_by_a_kill_does_not_break_the_next_runs(tmp_path: Path) -> None:
    """dlt saves a schema to a 16-hex-digit temp file, then renames it; a kill in between left that file,
    which dlt lists as a schema and then fails every run at `sync` (InvalidSchemaName, seen in CI's
    kill-9 test). `finish_interrupted_loads` removes it; the real schema and the rows stay."""
    import dlt
    from dlt.pipeline.exceptions import PipelineStepFailed

    from sources.intercom.runs import finish_interrupted_loads

    def pipeline() -> dlt.Pipeline:
        return dlt.pipeline(
            "cut",
            destination=dlt.destinations.duckdb(str(tmp_path / "c.duckdb")),
            pipelines_dir=str(tmp_path),
        )

    pipeline().run([{"id": 1}], table_name="rows")
    stray = tmp_path / "cut" / "schemas" / "0421f33c9f44b33f"
    stray.write_text((tmp_path / "cut" / "schemas" / "cut.schema.json").read_text())
    with pytest.raises(PipelineStepFailed, match="InvalidSchemaName"):
        pipeline().run([{"id": 2}], table_name="rows")
    finish_interrupted_loads(pipeline())
    assert not stray.exists()
    pipeline().run([{"id": 3}], table_name="rows")
    with pipeline().sql_client() as client:
        assert client.execute_sql("SELECT id FROM rows ORDER BY id") == [(1,), (3,)]
