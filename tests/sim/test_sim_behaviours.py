"""One test per simulated behaviour: truncation, part caps, scroll, list cap, export, removals, errors,
rate limit, faults."""

from __future__ import annotations

import csv
import gzip
import http.client
import io
import time
from typing import Any

import pytest
from sim_client import Client

from intercom_sim import Workspace, server, start


def test_embedded_lists_truncate_at_ten(client: Client, shared_ws: Workspace) -> None:
    heavy = next(c for c in shared_ws.contacts if len(shared_ws.contact_tag_ids(c)) > 10)
    contact = client.ok("GET", f"/contacts/{heavy}")
    tags = contact["tags"]
    assert len(tags["data"]) == 10 and tags["has_more"] is True
    assert (
        tags["total_count"] == len(shared_ws.contact_tag_ids(heavy))
        and tags["url"] == f"/contacts/{heavy}/tags"
    )
    full = client.ok("GET", f"/contacts/{heavy}/tags")["data"]
    assert [t["id"] for t in full] == shared_ws.contact_tag_ids(heavy)
    light = next(c for c in shared_ws.contacts if 0 < len(shared_ws.contact_tag_ids(c)) <= 10)
    assert client.ok("GET", f"/contacts/{light}")["tags"]["has_more"] is False
    many_companies = next(c for c in shared_ws.contacts if len(shared_ws.contact_company_ids(c)) > 10)
    companies = client.ok("GET", f"/contacts/{many_companies}")["companies"]
    assert len(companies["data"]) == 10 and companies["has_more"]


def test_conversation_parts_cap_at_500(client: Client, shared_ws: Workspace) -> None:
    big = next(c for c in shared_ws.conversations if len(shared_ws.conversation_parts(c)) > 500)
    conversation = client.ok("GET", f"/conversations/{big}")
    parts = conversation["conversation_parts"]
    every = shared_ws.conversation_parts(big)
    assert len(parts["conversation_parts"]) == 500 and parts["total_count"] == len(every)
    assert [p["id"] for p in parts["conversation_parts"]] == [p["id"] for p in every[-500:]]  # the newest 500
    assert conversation["statistics"]["count_conversation_parts"] == len(every)
    listed = client.ok("GET", "/conversations?per_page=150")["conversations"]
    assert all("conversation_parts" not in c for c in listed)
    found = client.ok(
        "POST", "/conversations/search", {"query": {"field": "id", "operator": "=", "value": big}}
    )
    assert found["conversations"][0]["id"] == big and "conversation_parts" not in found["conversations"][0]


def test_ticket_parts_cap_at_500(fresh: Any) -> None:
    ws, _, client = fresh
    ticket_id = ws.create_ticket()
    for _ in range(505):
        ws.add_ticket_part(ticket_id, body="x")
    parts = client.ok("GET", f"/tickets/{ticket_id}")["ticket_parts"]
    assert len(parts["ticket_parts"]) == 500 and parts["total_count"] == len(ws.ticket_parts(ticket_id))


def test_scroll_rules(fresh: Any) -> None:
    ws, srv, client = fresh
    srv.knobs.scroll_page_size = 8
    first = client.ok("GET", "/companies/scroll")
    assert len(first["data"]) == 8 and first["pages"] is None and first["total_count"] is None
    status, _, error = client.get("/companies/scroll")  # a second concurrent scroll
    assert status == 400 and error["errors"][0]["message"] == "scroll already exists for this app"
    param, page = first["scroll_param"], first
    while page["data"]:
        page = client.ok("GET", f"/companies/scroll?scroll_param={param}")
    assert page["scroll_param"] == param  # the end: an empty page that still has a scroll_param
    assert client.get(f"/companies/scroll?scroll_param={param}")[0] == 404
    # expiry after scroll_ttl_seconds idle frees the slot and kills the param
    srv.knobs.scroll_ttl_seconds = 0.2
    abandoned = client.ok("GET", "/companies/scroll")["scroll_param"]
    assert client.get("/companies/scroll")[0] == 400
    time.sleep(0.3)
    assert client.get(f"/companies/scroll?scroll_param={abandoned}")[0] == 404
    restarted = client.ok("GET", "/companies/scroll")
    assert restarted["data"]
    # a 500 mid-scroll means: restart from scratch (the old param is gone, a new scroll may start)
    srv.knobs.update(fault_rate=1.0, fault_kinds=("500",))
    assert client.get(f"/companies/scroll?scroll_param={restarted['scroll_param']}")[0] == 500
    srv.knobs.fault_rate = 0.0
    assert client.get(f"/companies/scroll?scroll_param={restarted['scroll_param']}")[0] == 404
    assert client.ok("GET", "/companies/scroll")["data"]


def test_companies_list_page_limit(fresh: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, client = fresh
    monkeypatch.setattr(server, "COMPANIES_LIST_LIMIT", 10)
    assert client.post("/companies/list?page=2&per_page=5")[0] == 200
    status, _, error = client.post("/companies/list?page=3&per_page=5")
    assert status == 400 and error["errors"][0]["message"] == "page limit reached, please use scroll API"


def test_companies_list_default_limit_is_10k(fresh: Any) -> None:
    _, _, client = fresh
    assert server.COMPANIES_LIST_LIMIT == 10_000
    assert (
        client.post("/companies/list?page=67&per_page=150")[0] == 200
    )  # rows 9,901-10,050: starts below 10k
    assert client.post("/companies/list?page=68&per_page=150")[0] == 400


def test_companies_list_excludes_companies_without_users(fresh: Any) -> None:
    ws, _, client = fresh
    lonely = ws.create_company(name="Nobody here")
    listed = client.ok("POST", "/companies/list?per_page=150")["data"]
    assert lonely not in {c["id"] for c in listed}
    assert client.ok("GET", f"/companies/{lonely}")["user_count"] == 0


def _wait_status(client: Client, job: str, wanted: set[str]) -> dict[str, Any]:
    for _ in range(100):
        body = client.ok("GET", f"/export/content/data/{job}")
        if body["status"] in wanted:
            return body
        time.sleep(0.02)
    raise AssertionError(f"export {job} never reached {wanted}")


def test_export_lifecycle(fresh: Any) -> None:
    ws, srv, client = fresh
    srv.knobs.export_delay_seconds = 0.3
    window = {"created_at_after": ws.clock.now() - 400 * 86_400, "created_at_before": ws.clock.now()}
    job = client.ok("POST", "/export/content/data", window)
    assert job["status"] == "pending" and job["download_url"] == "" and job["download_expires_at"] == ""
    status, _, error = client.post("/export/content/data", window)
    assert (
        status == 429
        and error["errors"][0]["message"] == "Exceeded rate limit of 1 pending message data export jobs"
    )
    done = _wait_status(client, job["job_identifier"], {"completed"})
    assert done["download_url"].endswith(f"/download/content/data/{job['job_identifier']}")
    assert int(done["download_expires_at"]) > time.time()
    path = f"/download/content/data/{job['job_identifier']}"
    assert client.get(path)[0] == 406  # JSON Accept is refused for downloads
    status, headers, raw = client.get(path, headers={"Accept": "application/octet-stream"}, raw=True)
    assert status == 200 and headers["content-type"] == "application/octet-stream"
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(raw).decode())))
    expected = [
        r
        for r in ws.export_rows
        if window["created_at_after"] <= r["received_at"] <= window["created_at_before"]
    ]
    assert len(rows) == len(expected) > 0
    assert len({r["receipt_id"] for r in rows}) == len(rows)
    assert list(rows[0]) == list(server.EXPORT_CSV_COLUMNS)
    # cancel, no_data, failed
    cancel_me = client.ok("POST", "/export/content/data", window)["job_identifier"]
    assert client.ok("POST", f"/export/cancel/{cancel_me}")["status"] == "canceled"
    empty = client.ok("POST", "/export/content/data", {"created_at_after": 1, "created_at_before": 2})
    assert _wait_status(client, empty["job_identifier"], {"no_data", "completed"})["status"] == "no_data"
    srv.knobs.export_fail = True
    failing = client.ok("POST", "/export/content/data", window)["job_identifier"]
    assert _wait_status(client, failing, {"failed", "completed"})["status"] == "failed"


def test_export_expiry(fresh: Any) -> None:
    ws, srv, client = fresh
    srv.knobs.update(export_delay_seconds=0.0, export_expiry_seconds=0.2)
    ws.add_export_rows(3)
    job = client.ok("POST", "/export/content/data", {"created_at_after": 0, "created_at_before": 2**40})
    _wait_status(client, job["job_identifier"], {"completed"})
    time.sleep(0.3)
    status = client.get(
        f"/download/content/data/{job['job_identifier']}",
        headers={"Accept": "application/octet-stream"},
        raw=True,
    )[0]
    assert status == 404


@pytest.mark.parametrize("removal", ["archive", "delete", "merge"])
def test_removed_contacts_vanish(fresh: Any, removal: str) -> None:
    ws, _, client = fresh
    cid, other = list(ws.contacts)[:2]
    if removal == "merge":
        ws.merge_contacts(cid, other)
    else:
        getattr(ws, f"{removal}_contact")(cid)
    assert client.get(f"/contacts/{cid}")[0] == 404
    assert client.get(f"/contacts/{cid}/tags")[0] == 404
    listed = client.ok("GET", "/contacts?per_page=150")["data"]
    assert cid not in {c["id"] for c in listed}
    found = client.ok("POST", "/contacts/search", {"query": {"field": "id", "operator": "=", "value": cid}})
    assert found["data"] == [] and found["total_count"] == 0
    assert (
        ws.removed_contacts[cid] == {"archive": "archived", "delete": "deleted", "merge": "merged"}[removal]
    )


def test_error_envelopes(fresh: Any) -> None:
    ws, srv, client = fresh
    bad = Client(srv.base_url, token="wrong")
    status, headers, body = bad.get("/me")
    assert status == 401 and body["type"] == "error.list" and body["errors"][0]["code"] == "unauthorized"
    assert "x-ratelimit-limit" not in headers
    assert client.get("/companies/nope")[2]["errors"][0]["code"] == "company_not_found"
    assert client.get("/admins/1")[2]["errors"][0]["code"] == "admin_not_found"
    assert client.get("/teams/1")[2]["errors"][0]["code"] == "team_not_found"
    assert client.get("/tags/1")[2]["errors"][0]["code"] == "tag_not_found"
    assert client.get("/tickets/1")[2]["errors"][0]["code"] == "ticket_not_found"
    status, _, body = client.get("/conversations/nope")
    assert status == 404 and body["errors"][0]["code"] == "not_found" and body["request_id"]
    assert client.get("/no/such/route")[0] == 404
    assert client.get("/me", headers={"Accept": "text/html"})[0] == 406
    srv.knobs.plan_restricted = frozenset({"GET /conversations"})
    status, _, body = client.get("/conversations")
    assert status == 403 and body["errors"][0] == {
        "code": "api_plan_restricted",
        "message": "Active subscription needed.",
    }
    assert client.get(f"/conversations/{next(iter(ws.conversations))}")[0] == 200
    srv.knobs.plan_restricted = frozenset()
    srv.knobs.missing_permissions = frozenset({"GET /teams"})
    status, _, body = client.get("/teams")
    assert status == 403 and body["errors"][0]["code"] == "token_unauthorized" and body["request_id"]
    srv.knobs.missing_permissions = frozenset()
    assert client.get("/admins/activity_logs")[2]["errors"][0]["code"] == "parameter_not_found"


def test_rate_limit_headers_and_429(fresh: Any) -> None:
    ws, srv, client = fresh
    srv.knobs.rate_limit = 60  # ceil(60 / 6) = 10 requests per 10-second window
    while time.time() % 10 > 8.5:  # keep the whole burst inside one window
        time.sleep(0.1)
    statuses, remaining = [], []
    for _ in range(12):
        status, headers, _ = client.get("/me")
        statuses.append(status)
        remaining.append(int(headers["x-ratelimit-remaining"]))
        assert headers["x-ratelimit-limit"] == "10"
        assert int(headers["x-ratelimit-reset"]) % 10 == 0 and int(headers["x-ratelimit-reset"]) > time.time()
    assert statuses[-2:] == [429, 429] and 200 in statuses
    assert remaining[statuses.index(200)] > remaining[statuses.index(429) - 1]
    assert client.get("/me")[2]["errors"][0]["code"] == "rate_limit_exceeded"
    srv.knobs.rate_limit = 0
    assert client.get("/me")[0] == 200


def _raw_get(port: int, path: str) -> tuple[int, bytes, str | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Authorization": "Bearer sim-token", "Accept": "application/json"})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body, response.getheader("Content-Length")


def test_faults(fresh: Any) -> None:
    _, srv, client = fresh
    srv.knobs.update(fault_rate=1.0, fault_kinds=("500",))
    for kind in ("500", "502", "503"):
        srv.knobs.fault_kinds = (kind,)
        status, _, body = client.get("/admins")
        assert status == int(kind) and body["type"] == "error.list"
    srv.knobs.fault_kinds = ("reset",)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        _raw_get(srv.port, "/admins")
    srv.knobs.fault_kinds = ("truncate",)
    status, body, length = _raw_get(srv.port, "/admins")
    assert status == 200 and length == str(len(body))
    with pytest.raises(ValueError):
        __import__("json").loads(body)
    srv.knobs.update(fault_kinds=("slow",), fault_slow_seconds=0.3)
    began = time.perf_counter()
    assert client.get("/admins")[0] == 200
    assert time.perf_counter() - began >= 0.3
    srv.knobs.fault_rate = 0.0


def test_faults_are_seeded(fresh: Any) -> None:
    ws, _, _ = fresh

    def draw() -> list[int]:
        srv = start(ws, port=0, rate_limit=0, fault_rate=0.3, fault_kinds=("500", "503"), fault_seed=5)
        try:
            c = Client(srv.base_url)
            statuses = [c.get("/admins")[0] for _ in range(30)]
            assert srv.fault_counts == {kind: statuses.count(int(kind)) for kind in ("500", "503")}
            return statuses
        finally:
            srv.stop()

    first = draw()
    assert first == draw() and set(first) == {200, 500, 503}


def test_latency_knob(fresh: Any) -> None:
    _, srv, client = fresh
    srv.knobs.latency_ms = 150
    began = time.perf_counter()
    client.get("/admins")
    assert time.perf_counter() - began >= 0.15
