"""A resource Intercom refuses (403) is skipped: the rest loads and commits, the CLI exits 4 (partial)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.intercom_pipeline import EXIT_FAILED, EXIT_PARTIAL
from sources.intercom import PlanRestrictedError, skipped_resources
from tests.robustness.support import (
    MakeHarness,
    cli_env,
    committed_state,
    harness_args,
    run_cli,
    stderr_lines,
)
from tests.source.conftest import Harness

WORKSPACE = {"contacts": 40, "companies": 8, "conversations": 12, "tickets": 4}
QUICK_EXPORTS = cli_env(SOURCES__INTERCOM__EXPORT_POLL_SECONDS="0.02")
LOADED = ("contacts", "conversations", "conversation_parts", "teams", "admins")


def conversations_state(harness: Harness) -> dict:
    state = committed_state(harness) or {}
    return state["sources"]["intercom"]["resources"]["conversations"]


@pytest.fixture
def dlt_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog seeing dlt's logger too: dlt stops its records from propagating to the root logger."""
    dlt_logger = logging.getLogger("dlt")
    dlt_logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        dlt_logger.removeHandler(caplog.handler)


def skip_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and record.getMessage().startswith("skipped ")
    ]


def change_one_contact_and_one_conversation(harness: Harness) -> tuple[str, str]:
    ws = harness.workspace
    ws.clock.advance(3600)
    contact, conversation = next(iter(ws.contacts)), next(iter(ws.conversations))
    ws.update_contact(contact, name="Changed while conversations were refused")
    ws.update_conversation(conversation, title="Changed while refused")
    return contact, conversation


def test_cli_skips_refused_resources_loads_the_rest_and_exits_partial(make_harness: MakeHarness) -> None:
    harness = make_harness(WORKSPACE, export_delay_seconds=0.02)  # every default resource: exports too
    server = harness.server
    harness.run(LOADED)
    cursor_before = conversations_state(harness)
    teams_before = sorted(harness.ids("teams"))
    contact, conversation = change_one_contact_and_one_conversation(harness)
    server.knobs.plan_restricted = frozenset({"POST /conversations/search", "GET /teams"})
    server.reset_counters()

    every_default_resource = harness_args(harness)[:-2]  # no --resources: nothing named explicitly
    completed = run_cli(every_default_resource, cwd=harness.tmp_path, env=QUICK_EXPORTS)

    assert completed.returncode == EXIT_PARTIAL, completed.stderr
    warnings = [line for line in stderr_lines(completed) if "skipped " in line]
    assert len(warnings) == 2, completed.stderr
    [conversations_line] = [line for line in warnings if "POST /conversations/search" in line]
    assert "conversations, conversation_parts" in conversations_line  # the child goes with its parent
    assert '"Read conversations"' in conversations_line and "api_plan_restricted" in conversations_line
    [teams_line] = [line for line in warnings if "GET /teams" in line]
    assert '"Read admins"' in teams_line
    assert "Skipped" in completed.stdout and "conversation_parts" in completed.stdout.split("Skipped", 1)[1]
    assert server.counters.get("GET /conversations/{id}", 0) == 0
    assert server.counters["POST /conversations/search"] == 1, "a 403 is not retried"

    # the rest loaded and committed; the skipped tables and cursor are as they were
    assert harness.query(f"SELECT name FROM contacts WHERE id = '{contact}'") == [
        ("Changed while conversations were refused",)
    ]
    assert set(harness.ids("tickets")) == set(harness.workspace.tickets)
    assert conversations_state(harness) == cursor_before
    assert harness.query(f"SELECT title FROM conversations WHERE id = '{conversation}'") != [
        ("Changed while refused",)
    ]
    assert sorted(harness.ids("teams")) == teams_before, "a skipped replace table keeps its rows"

    server.knobs.plan_restricted = frozenset()
    harness.run(LOADED)  # the next run, allowed again, reads from where the skipped cursor was
    assert skipped_resources(harness.pipeline()) == {}
    assert harness.query(f"SELECT title FROM conversations WHERE id = '{conversation}'") == [
        ("Changed while refused",)
    ]
    assert conversations_state(harness) != cursor_before


def test_cli_fails_when_a_named_resource_is_refused(make_harness: MakeHarness) -> None:
    harness = make_harness(WORKSPACE)
    harness.server.knobs.plan_restricted = frozenset({"POST /conversations/search"})
    completed = run_cli(harness_args(harness, ("contacts", "conversation_parts")), cwd=harness.tmp_path)
    lines = stderr_lines(completed)
    assert completed.returncode == EXIT_FAILED, completed.stderr
    assert len(lines) == 1 and "POST /conversations/search" in lines[0] and "403" in lines[0], lines
    assert committed_state(harness) is None, "a failed extract commits nothing"


def test_library_lists_the_skipped_tables_and_fails_on_required_ones(
    make_harness: MakeHarness, dlt_log: pytest.LogCaptureFixture
) -> None:
    harness = make_harness(WORKSPACE)
    server = harness.server
    server.knobs.missing_permissions = frozenset({"GET /events"})  # 403 token_unauthorized
    harness.run(("contacts", "data_events"))
    pipeline = harness.pipeline()
    assert skipped_resources(pipeline) == {"data_events": "Read events"}
    assert len(skip_warnings(dlt_log)) == 1, "one line however many pages and contacts were refused"
    assert len(harness.ids("contacts")) == len(harness.workspace.contacts)

    harness.workspace.clock.advance(3600)
    harness.workspace.update_contact(next(iter(harness.workspace.contacts)), name="Changed")
    with pytest.raises(PipelineStepFailed) as failure:
        harness.run(("contacts", "data_events"), required_resources=["data_events"])
    assert isinstance(failure.value.__cause__.__cause__, PlanRestrictedError)  # type: ignore[union-attr]

    server.knobs.missing_permissions = frozenset()
    harness.run(("contacts", "data_events"), data_events_scope="all")
    assert skipped_resources(harness.pipeline()) == {}
    assert len(harness.ids("data_events")) > 0
