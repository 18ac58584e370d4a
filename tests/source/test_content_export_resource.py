"""The content_exports resource: a full export, then an incremental one that starts from its cursor."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from sources.intercom import settings
from sources.intercom.windows import time_windows
from tests.source.conftest import start_harness

FAST = {"export_window_days": 365, "export_poll_seconds": 0.02}


def test_full_then_incremental_export_equals_the_workspace(tmp_path: Path) -> None:
    now = int(time.time())
    harness, server = start_harness(tmp_path, now=now - 60, export_rows=300, contacts=30, conversations=10)
    try:
        server.knobs.export_delay_seconds = 0.05
        ws = harness.workspace
        oldest = min(row["received_at"] for row in ws.export_rows)
        harness.run(("content_exports",), start_date=datetime.fromtimestamp(oldest - 1, tz=UTC), **FAST)
        truth = {str(row["receipt_id"]) for row in ws.export_rows}
        assert set(harness.ids("content_exports", "receipt_id")) == truth
        expected_jobs = len(time_windows(oldest - 1, int(time.time()), FAST["export_window_days"]))
        assert (
            server.counters["POST /export/content/data"] == expected_jobs == 2
        )  # two years, 365-day windows
        server.reset_counters()

        ws.clock.set(int(time.time()))
        ws.add_export_rows(25)
        harness.run(("content_exports",), **FAST)
        truth = {str(row["receipt_id"]) for row in ws.export_rows}
        stored = harness.ids("content_exports", "receipt_id")
        assert set(stored) == truth and len(stored) == len(truth)
        assert server.counters["POST /export/content/data"] == 1  # one window since the cursor
        assert server.counters["GET /download/content/data/{job}"] == 1
        received = harness.query("SELECT typeof(received_at) FROM content_exports LIMIT 1")[0][0]
        assert received.startswith("TIMESTAMP")
    finally:
        server.stop()


def test_a_first_run_with_the_default_polling_asks_each_job_once(tmp_path: Path) -> None:
    """Defaults (30-day windows, first poll after 1 s): a job finished within that second costs one status
    call, and the two years of windows run while the other resources are read, each batch loaded once."""
    now = int(time.time())
    harness, server = start_harness(tmp_path, now=now - 60, export_rows=300, contacts=30, conversations=10)
    try:
        server.knobs.export_delay_seconds = 0.05
        harness.run(("content_exports", "contacts"), export_poll_seconds=settings.EXPORT_POLL_SECONDS)
        jobs = server.counters["POST /export/content/data"]
        assert jobs == len(time_windows(now - 2 * 365 * 86_400, int(time.time()), 30)) >= 24
        assert server.counters["GET /export/content/data/{job}"] == jobs
        since = now - settings.HISTORY_YEARS * 365 * 86_400
        in_range = [row for row in harness.workspace.export_rows if row["received_at"] >= since]
        stored = harness.ids("content_exports", "receipt_id")
        assert sorted(stored) == sorted(str(row["receipt_id"]) for row in in_range)
        assert len(harness.ids("contacts")) == len(harness.workspace.contacts)
    finally:
        server.stop()
