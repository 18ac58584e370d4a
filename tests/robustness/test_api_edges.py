"""API edges: scrolls left open or expiring, records deleted mid-run, endpoints the plan does not cover."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from intercom_sim import SimServer
from sources.intercom import settings
from sources.intercom.client import make_client
from sources.intercom.errors import IntercomAPIError, TransientError
from tests.robustness.support import (
    RESOURCES,
    TOKEN,
    MakeHarness,
    assert_no_duplicate_keys,
    assert_parts_loaded,
    differences,
    harness_args,
    kill_when,
    loaded_parts,
    loaded_updated_at,
    run_cli,
    start_cli,
    stderr_lines,
    truth_updated_at,
)
from tests.source.conftest import Harness

SCROLL_WORKSPACE = {"contacts": 20, "companies": 40, "conversations": 5}
SCROLL_PAGE = 10
COMPANIES = ("companies",)


def assert_companies_exact(harness: Harness) -> None:
    drift = differences(loaded_updated_at(harness, "companies"), truth_updated_at(harness, "companies"))
    assert not drift, drift
    assert_no_duplicate_keys(harness)


def warnings_mentioning(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.WARNING and text in record.getMessage()
    ]


def test_a_scroll_left_open_by_a_killed_run_is_waited_out(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # the killed run's scroll must outlive the next run's start also on a loaded machine (1.5 s did not)
    harness = make_harness(
        SCROLL_WORKSPACE, scroll_page_size=SCROLL_PAGE, scroll_ttl_seconds=6, latency_ms=100
    )
    monkeypatch.setattr(settings, "SCROLL_BUSY_WAIT_SECONDS", 0.1)
    server = harness.server
    process = start_cli(harness, COMPANIES)
    assert kill_when(process, lambda: server.counters.get("GET /companies/scroll", 0) >= 2)
    server.knobs.latency_ms = 0
    server.reset_counters()

    harness.run(COMPANIES)
    assert_companies_exact(harness)
    assert server.status_counts.get(400, 0) >= 1, "the next run met the open scroll"
    assert warnings_mentioning(caplog, "scroll busy")
    pages = -(-len(harness.workspace.companies) // SCROLL_PAGE) + 1  # and the empty page that ends it
    assert server.counters["GET /companies/scroll"] == server.status_counts[400] + pages


def test_a_scroll_expiring_mid_run_restarts_from_scratch(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ttl = 0.3
    stalled: list[str] = []
    serve_page = SimServer.scroll_companies

    def stall_once(server: SimServer, request: Any) -> Any:
        """Before serving the second page, once, stay idle past the scroll's TTL (a slow client)."""
        if request.query.get("scroll_param") and not stalled:
            stalled.append(request.query["scroll_param"])
            time.sleep(3 * ttl)
        return serve_page(server, request)

    monkeypatch.setattr(SimServer, "scroll_companies", stall_once)
    harness = make_harness(SCROLL_WORKSPACE, scroll_page_size=SCROLL_PAGE, scroll_ttl_seconds=ttl)
    harness.run(COMPANIES)

    assert_companies_exact(harness)
    assert harness.server.status_counts.get(404, 0) >= 1, "the scroll expired under the connector"
    assert warnings_mentioning(caplog, "restarting")
    pages = -(-len(harness.workspace.companies) // SCROLL_PAGE) + 1
    assert harness.server.counters["GET /companies/scroll"] >= pages + 2


def test_a_conversation_deleted_between_search_and_detail_is_skipped_and_logged(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The simulator cannot delete a conversation; the search handler deletes one right after listing it
    (a page of rows: a first run also asks for the range's edge, a page of one row, at the same time)."""
    deleted: list[str] = []
    search = SimServer.search_conversations

    def search_then_delete(server: SimServer, request: Any) -> Any:
        response = search(server, request)
        if not deleted and request.json().get("pagination", {}).get("per_page") != 1:
            victim = list(server.ws.conversations)[len(server.ws.conversations) // 2]
            with server.ws.lock:
                server.ws.conversations.pop(victim)
            deleted.append(victim)
        return response

    monkeypatch.setattr(SimServer, "search_conversations", search_then_delete)
    harness = make_harness({"contacts": 40, "companies": 5, "conversations": 30})
    harness.run(("conversations", "conversation_parts"))

    [victim] = deleted
    server = harness.server
    assert set(harness.ids("conversations")) == set(harness.workspace.conversations) | {victim}
    assert victim not in loaded_parts(harness)
    assert_parts_loaded(harness, harness.workspace.conversations)
    assert server.counters["GET /conversations/{id}"] == len(harness.workspace.conversations) + 1
    assert server.status_counts.get(404) == 1, "the 404 is not retried"
    assert len(warnings_mentioning(caplog, victim)) == 1


def test_a_plan_restricted_endpoint_fails_the_run_with_one_line_naming_it(make_harness: MakeHarness) -> None:
    harness = make_harness({"contacts": 40, "companies": 5, "conversations": 10})
    harness.server.knobs.plan_restricted = frozenset({"GET /teams"})
    completed = run_cli(harness_args(harness, RESOURCES), cwd=harness.tmp_path)
    lines = stderr_lines(completed)
    assert completed.returncode == 1, completed.stderr
    assert len(lines) == 1, lines
    assert "GET /teams" in lines[0] and "403" in lines[0] and "api_plan_restricted" in lines[0], lines[0]
    assert harness.server.counters["GET /teams"] == 1, "a 403 is not retried"


def test_an_error_answer_cut_short_is_asked_again_not_taken_for_a_bad_request(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A truncated 400 says nothing for sure (a cut "scroll already exists" once failed a run as a plain
    "Bad Request"): it is retried like a truncated page, and the whole answer, once it comes, decides."""
    harness = make_harness({"contacts": 5, "companies": 5, "conversations": 5})
    monkeypatch.setattr(settings, "BACKOFF_BASE_SECONDS", 0.01)
    server = harness.server
    client = make_client(TOKEN, base_url=server.base_url, retry_backoff_seconds=0.01)
    bad_query = {"query": {"field": "no_such_field", "operator": "=", "value": 1}}
    server.knobs.update(fault_rate=1.0, fault_kinds=("truncate",))
    with pytest.raises(TransientError, match="truncated"):
        client.post("/contacts/search", bad_query)
    assert server.counters["POST /contacts/search"] == settings.MAX_ATTEMPTS
    server.knobs.update(fault_rate=0.0)
    with pytest.raises(IntercomAPIError, match="no_such_field is not a searchable field") as raised:
        client.post("/contacts/search", bad_query)
    assert not isinstance(raised.value, TransientError)
