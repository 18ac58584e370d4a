"""The content export engine (`sources/intercom/exports.py`) against the simulator over real HTTP.

Jobs are made fast with `export_delay_seconds=0.05` and polled every 20 ms. Knobs that must change in the
middle of a run (a job failing once, a download expiring) are flipped by a response hook on the client's
session, at the moment the engine sees a given job status.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import subprocess
import sys
import tarfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

import intercom_sim
from intercom_sim.server import EXPORT_CSV_COLUMNS
from sources.intercom.client import IntercomClient
from sources.intercom.errors import TransientError
from sources.intercom.exports import (
    _batches,
    content_export_rows,
    export_file_rows,
    export_row,
)
from sources.intercom.records import Record
from sources.intercom.windows import time_windows

TOKEN = "sim-token-exports"
DAY = 86_400
FAST = {"poll_seconds": 0.02, "max_poll_seconds": 5.0}
STATUS_PATH = re.compile(r"/export/content/data/(\w+)$")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sim() -> Iterator[Any]:
    workspace = intercom_sim.Workspace(
        seed=5, contacts=40, companies=8, conversations=4, tickets=1, export_rows=400
    )
    server = intercom_sim.start(workspace, port=0, token=TOKEN, rate_limit=0, export_delay_seconds=0.05)
    try:
        yield server
    finally:
        server.stop()


def make_client(server: Any) -> IntercomClient:
    return IntercomClient(TOKEN, server.base_url, backoff_base=0.01)


def all_time(server: Any) -> tuple[int, int]:
    now = server.ws.clock.now()
    return now - 3 * 365 * DAY, now + 1


def run_export(
    client: IntercomClient, windows: list[tuple[int, int]], **options: Any
) -> tuple[list[list[Record]], list[int]]:
    done: list[int] = []
    batches = list(content_export_rows(client, windows, on_window_done=done.append, **{**FAST, **options}))
    return batches, done


def flat(batches: list[list[Record]]) -> list[Record]:
    return [row for batch in batches for row in batch]


def truth(server: Any, start: int, end: int) -> dict[str, Record]:
    """The workspace's export rows received in [start, end), as the engine should yield them."""

    def cell(column: str, value: Any) -> Any:
        if column == "received_at" or column.startswith("first_"):
            return None if value is None else datetime.fromtimestamp(value, tz=UTC)
        return "" if value is None else str(value)

    return {
        row["receipt_id"]: {column: cell(column, row[column]) for column in EXPORT_CSV_COLUMNS}
        for row in server.ws.export_rows
        if start <= row["received_at"] < end
    }


def by_receipt(rows: list[Record]) -> dict[str, Record]:
    keyed = {row["receipt_id"]: row for row in rows}
    assert len(keyed) == len(rows), "receipt_id repeated"
    return keyed


def raw_call(server: Any, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
    """A request outside the engine: another tool using the same workspace."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    return requests.request(method, server.base_url + path, json=body, headers=headers, timeout=10)


def on_response(client: IntercomClient, react: Callable[[requests.Response], None]) -> None:
    """Calls `react(response)` for every successful response the engine gets."""

    def hook(response: requests.Response, **_: Any) -> None:
        if response.ok:
            react(response)

    client.session.hooks["response"].append(hook)


def on_status(client: IntercomClient, react: Callable[[str, str], None]) -> None:
    """Calls `react(job, status)` for every job status the engine reads."""

    def status_read(response: requests.Response) -> None:
        match = STATUS_PATH.search(response.request.path_url)
        if response.request.method == "GET" and match:
            react(match.group(1), response.json()["status"])

    on_response(client, status_read)


# --------------------------------------------------------------------------------------------- windows


def test_a_two_year_backfill_is_25_windows_that_tile_the_range() -> None:
    start = 1_700_000_000
    end = start + 730 * DAY
    windows = time_windows(start, end, 30)
    assert len(windows) == 25
    assert windows[0][0] == start and windows[-1][1] == end
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))
    assert all(high - low == 30 * DAY for low, high in windows[:-1])
    assert time_windows(end, start, 30) == [] and time_windows(start, start, 30) == []
    with pytest.raises(ValueError):
        time_windows(start, end, 0)


# ------------------------------------------------------------------------------------- happy paths


def test_rows_equal_the_workspace_truth_window_by_window(sim: Any) -> None:
    start, end = all_time(sim)
    windows = time_windows(start, end, 30)
    batches, done = run_export(make_client(sim), windows, batch_size=50)
    assert done == [high for _, high in windows]
    assert all(0 < len(batch) <= 50 for batch in batches)
    assert by_receipt(flat(batches)) == truth(sim, start, end)
    assert sim.counters["POST /export/content/data"] == len(windows)


def test_window_edges_are_exact_to_the_second(sim: Any) -> None:
    """The API's bounds are inclusive; a window [start, end) asks for [start, end - 1]: no row twice."""
    received = sim.ws.export_rows[0]["received_at"]
    windows = [(received - 10, received), (received, received + 1), (received + 1, received + 10)]
    batches, done = run_export(make_client(sim), windows)
    rows = flat(batches)
    assert sim.ws.export_rows[0]["receipt_id"] in {row["receipt_id"] for row in rows}
    assert by_receipt(rows) == truth(sim, received - 10, received + 10)
    assert done == [received, received + 1, received + 10]


def test_a_window_without_data_yields_nothing_and_is_still_done(sim: Any) -> None:
    batches, done = run_export(make_client(sim), [(1_000_000, 1_000_000 + DAY)])
    assert batches == [] and done == [1_000_000 + DAY]
    assert "GET /download/content/data/{job}" not in sim.counters


def test_the_download_asks_for_octet_stream(sim: Any) -> None:
    run_export(make_client(sim), [all_time(sim)])
    downloads = [headers for method, path, headers in sim.request_log if path.startswith("/download/")]
    assert len(downloads) == 1
    assert downloads[0]["Accept"] == "application/octet-stream"
    statuses = [headers for method, path, headers in sim.request_log if path.startswith("/export/content")]
    assert all(headers["Accept"] == "application/json" for headers in statuses)


def test_rows_keep_sentinels_and_convert_timestamps() -> None:
    raw = {column: "" for column in EXPORT_CSV_COLUMNS} | {
        "receipt_id": "42",
        "company_id": "-1",
        "series_id": "-1",
        "received_at": "1700000000",
        "first_open": "1700000060",
    }
    row = export_row(raw)
    assert row["company_id"] == "-1" and row["series_id"] == "-1" and row["email"] == ""
    assert row["received_at"] == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert row["first_open"].tzinfo is UTC
    assert row["first_click"] is None and row["first_hard_bounce"] is None


# --------------------------------------------------------------------------- one job per workspace


def test_a_job_left_pending_by_another_run_is_waited_for_then_ours_runs(sim: Any) -> None:
    sim.knobs.export_delay_seconds = 0.6  # their job keeps the delay it was created with
    start, end = all_time(sim)
    theirs = raw_call(sim, "POST", "/export/content/data", {"created_at_after": 0, "created_at_before": 1})
    assert theirs.status_code == 200
    sim.knobs.export_delay_seconds = 0.05  # only their job is slow
    client = make_client(sim)
    began = time.monotonic()
    batches, done = run_export(client, [(start, end)])
    assert by_receipt(flat(batches)) == truth(sim, start, end) and done == [end]
    assert sim.status_counts.get(429, 0) >= 1
    assert sim.counters["POST /export/content/data"] >= 3  # theirs, at least one refused, ours
    assert time.monotonic() - began < 3
    assert client.session.limiter.waited_seconds == 0  # the job limit never held the rate limiter
    assert "POST /export/cancel/{job}" not in sim.counters  # never cancel a job that is not ours
    job = theirs.json()["job_identifier"]
    assert raw_call(sim, "GET", f"/export/content/data/{job}").json()["status"] == "no_data"


def test_a_job_of_someone_else_running_too_long_fails_clearly_and_is_left_alone(sim: Any) -> None:
    sim.knobs.export_delay_seconds = 30
    theirs = raw_call(sim, "POST", "/export/content/data", {"created_at_after": 0, "created_at_before": 1})
    done: list[int] = []
    rows = content_export_rows(
        make_client(sim), [all_time(sim)], poll_seconds=0.05, max_poll_seconds=0.3, on_window_done=done.append
    )
    with pytest.raises(TransientError, match="Another content export job") as raised:
        list(rows)
    assert raised.value.status == 429 and done == []
    assert "POST /export/cancel/{job}" not in sim.counters
    job = theirs.json()["job_identifier"]
    assert raw_call(sim, "GET", f"/export/content/data/{job}").json()["status"] in ("pending", "in_progress")


def test_our_job_still_running_when_we_give_up_is_canceled(sim: Any) -> None:
    sim.knobs.export_delay_seconds = 30
    with pytest.raises(TransientError, match="still"):
        run_export(make_client(sim), [all_time(sim)], poll_seconds=0.05, max_poll_seconds=0.3)
    assert sim.counters["POST /export/cancel/{job}"] == 1
    # the slot is free again: the next run does not have to wait
    sim.knobs.export_delay_seconds = 0.05
    assert raw_call(sim, "POST", "/export/content/data", {"created_at_after": 0, "created_at_before": 1}).ok


# -------------------------------------------------------------------------------- lost and failed jobs


def test_a_failed_job_is_retried_once(sim: Any) -> None:
    sim.knobs.export_fail = True
    client = make_client(sim)
    on_status(client, lambda job, status: status == "failed" and sim.knobs.update(export_fail=False))
    start, end = all_time(sim)
    batches, done = run_export(client, [(start, end)])
    assert by_receipt(flat(batches)) == truth(sim, start, end) and done == [end]
    assert sim.counters["POST /export/content/data"] == 2


def test_a_job_failing_twice_stops_the_run_without_moving_the_cursor(sim: Any) -> None:
    sim.knobs.export_fail = True
    with pytest.raises(TransientError, match="failed 2 times"):
        run_export(make_client(sim), [all_time(sim)])
    assert sim.counters["POST /export/content/data"] == 2
    assert "GET /download/content/data/{job}" not in sim.counters


def test_a_job_canceled_by_someone_else_is_created_again(sim: Any) -> None:
    """The first job would run 30 s, so it is still running when it is canceled however slow the machine;
    the job created in its place takes the fixture's 0.05 s."""
    sim.knobs.export_delay_seconds = 30
    client = make_client(sim)
    canceled: list[str] = []

    def cancel_first(job: str, status: str) -> None:
        if status in ("pending", "in_progress") and not canceled:
            canceled.append(job)
            assert raw_call(sim, "POST", f"/export/cancel/{job}").json()["status"] == "canceled"
            sim.knobs.export_delay_seconds = 0.05

    on_status(client, cancel_first)
    start, end = all_time(sim)
    batches, done = run_export(client, [(start, end)])
    assert by_receipt(flat(batches)) == truth(sim, start, end) and done == [end]
    assert sim.counters["POST /export/content/data"] == 2


def test_an_expired_download_is_created_again(sim: Any) -> None:
    """Job 1: its download 404s (expired in between). Job 2: its status says expired. Job 3 is read."""
    client = make_client(sim)
    completed: list[str] = []

    def expire_the_first_download(job: str, status: str) -> None:
        if status == "completed":
            completed.append(job)
            sim.knobs.export_expiry_seconds = -1 if len(completed) == 1 else 172_800

    on_status(client, expire_the_first_download)
    start, end = all_time(sim)
    batches, done = run_export(client, [(start, end)])
    assert by_receipt(flat(batches)) == truth(sim, start, end) and done == [end]
    assert sim.counters["POST /export/content/data"] == 3
    assert sim.counters["GET /download/content/data/{job}"] == 2
    assert sim.status_counts[404] == 1


def test_a_download_cut_off_midway_is_read_again_without_duplicates(sim: Any) -> None:
    """The first download's body is cut in half (the simulator's `truncate` fault), the second is whole."""
    sim.ws.add_export_rows(3_000)
    client = make_client(sim)
    on_status(
        client,
        lambda job, status: (
            status == "completed" and sim.knobs.update(fault_rate=1.0, fault_kinds=("truncate",))
        ),
    )
    on_response(
        client,
        lambda response: (
            response.request.path_url.startswith("/download/") and sim.knobs.update(fault_rate=0)
        ),
    )
    start, end = all_time(sim)
    batches, done = run_export(client, [(start, end)], batch_size=100)
    assert by_receipt(flat(batches)) == truth(sim, start, end) and done == [end]
    assert sim.counters["GET /download/content/data/{job}"] == 2
    assert sim.counters["POST /export/content/data"] == 1  # the same job's file, read again


# ------------------------------------------------------------------------------------- file formats


def csv_bytes(rows: int, columns: tuple[str, ...] = EXPORT_CSV_COLUMNS, first_receipt: int = 0) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(columns)
    for number in range(first_receipt, first_receipt + rows):
        writer.writerow([number if column == "receipt_id" else "Línea\nnueva, 👋" for column in columns])
    return text.getvalue().encode()


def chunked(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


def test_rows_come_out_while_the_body_is_still_arriving() -> None:
    body = gzip.compress(csv_bytes(20_000))
    sent: list[int] = []

    def network() -> Iterator[bytes]:
        for chunk in chunked(body):
            sent.append(len(chunk))
            yield chunk

    rows = export_file_rows(network())
    first = next(rows)
    assert first["receipt_id"] == "0" and first["content_title"] == "Línea\nnueva, 👋"
    assert sum(sent) < len(body) / 10
    assert sum(1 for _ in rows) == 19_999 and sum(sent) == len(body)


def test_a_plain_csv_body_is_read_too() -> None:
    """A server that sends `Content-Encoding: gzip` has the body decompressed by requests already."""
    rows = list(export_file_rows(chunked(b"\xef\xbb\xbf" + csv_bytes(3), 7)))
    assert [row["receipt_id"] for row in rows] == ["0", "1", "2"]


def test_a_cut_off_gzip_stream_raises_instead_of_ending_quietly() -> None:
    body = gzip.compress(csv_bytes(2_000))
    with pytest.raises(EOFError):
        list(export_file_rows(chunked(body[: len(body) // 2])))


def test_a_gzipped_tar_of_several_csvs_is_read_file_by_file() -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, data in [
            ("export/receipts_20240101_120000.csv", csv_bytes(5)),
            ("export/opens_20240101_120000.csv", csv_bytes(3, ("receipt_id", "opened_at"), 100)),
            ("export/README.txt", b"not a csv"),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    rows = list(export_file_rows(chunked(gzip.compress(archive.getvalue()))))
    assert [(row["export_file"], row["receipt_id"]) for row in rows] == [
        *(("receipts_20240101_120000.csv", str(n)) for n in range(5)),
        *(("opens_20240101_120000.csv", str(n)) for n in range(100, 103)),
    ]
    batches = list(_batches(iter(rows), 4))
    assert [len(batch) for batch in batches] == [4, 1, 3]  # a batch never mixes two files


def test_a_gzipped_zip_of_csvs_is_read_too() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("receipts.csv", csv_bytes(2))
        zipped.writestr("clicks.csv", csv_bytes(1, ("receipt_id", "clicked_at"), 7))
    rows = list(export_file_rows(chunked(gzip.compress(archive.getvalue()))))
    assert [(row["export_file"], row["receipt_id"]) for row in rows] == [
        ("receipts.csv", "0"),
        ("receipts.csv", "1"),
        ("clicks.csv", "7"),
    ]


# ------------------------------------------------------------------------------------------ memory

SERVE_EXPORT = """
import sys, intercom_sim
ws = intercom_sim.Workspace(seed=9, contacts=40, companies=8, conversations=4, tickets=1, export_rows=0)
ws.add_export_rows(int(sys.argv[1]))
server = intercom_sim.start(ws, port=0, token=sys.argv[2], rate_limit=0, export_delay_seconds=0.05)
print(server.base_url, ws.clock.now(), flush=True)
sys.stdin.read()
"""


def test_a_big_export_streams_in_bounded_memory() -> None:
    """100,000 rows (a 21 MB CSV once decompressed, 2.4 MB gzipped), read with a peak of about 4 MB.

    The peak is mostly one batch of 1,000 row dicts. The simulator runs in another process, so that only
    the engine's allocations are traced.
    """
    rows_wanted = 100_000
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-c", SERVE_EXPORT, str(rows_wanted), TOKEN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as server:
        assert server.stdout is not None and server.stdin is not None
        base_url, now = server.stdout.readline().split()
        client = IntercomClient(TOKEN, base_url, backoff_base=0.01)
        counted = 0
        tracemalloc.start()
        try:
            rows = content_export_rows(
                client,
                [(int(now) - 2 * DAY, int(now) + 1)],
                poll_seconds=0.02,
                max_poll_seconds=60,
                batch_size=1_000,
                on_window_done=lambda _: None,
            )
            for batch in rows:
                counted += len(batch)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            server.stdin.close()
    assert counted == rows_wanted
    assert peak < 5_000_000, f"peak {peak / 1e6:.1f} MB"
