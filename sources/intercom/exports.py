"""Content data exports: message delivery and engagement statistics, read through Intercom's export jobs.

Intercom exports them only as asynchronous jobs over a range of receipt times: create a job
(`POST /export/content/data`), poll it (`GET /export/content/data/{job}`) until it is finished, then
download a gzipped CSV (`GET /download/content/data/{job}`, `Accept: application/octet-stream`). A workspace
runs one job at a time, so windows are exported one after the other.

Windows are half-open `[start, end)` intervals of unix seconds. The API's bounds are inclusive to the
second, so a window is requested as `created_at_after=start, created_at_before=end - 1`: consecutive
windows neither overlap nor leave a gap.

Rows are keyed by `receipt_id`: the spec calls it the id of "this specific delivery of a message", and
the simulator issues one per row. Timestamps (`received_at`, `first_*`) become aware UTC datetimes, empty
ones None. Every other column stays the string the CSV holds, including the `-1` that `company_id`,
`series_id` and `node_id` carry when there is no company or series.

A download is never held in memory whole: it is decompressed and parsed as it arrives, and yielded in
batches.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import shutil
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby, islice
from typing import IO, Any

import requests

from .client import TRANSIENT_EXCEPTIONS, ExportJobBusyError, IntercomClient
from .errors import IntercomAPIError, IntercomError, NotFoundError, TransientError
from .records import Record, from_unix

logger = logging.getLogger("sources.intercom")

CREATE_PATH = "/export/content/data"
STATUS_PATH = "/export/content/data/{job}"
CANCEL_PATH = "/export/cancel/{job}"
DOWNLOAD_PATH = "/download/content/data/{job}"


FAILED_JOB_RETRIES = 1
"""A window whose job ends `failed` is exported once more before the run fails."""
MAX_LOST_JOBS = 5
"""Jobs of one window that may be canceled by someone else or expire before their download is complete."""
DOWNLOAD_ATTEMPTS = 5
"""Attempts to read one job's file when the body breaks off (reset connection, truncated gzip)."""
ROW_CAP = 10_000_000
"""Intercom returns at most this many rows per job (2.5 docs): a window that reaches it was cut short."""
POLL_BACKOFF_FACTOR = 1.5
POLL_MAX_INTERVAL_SECONDS = 60.0
CHUNK_BYTES = 64 * 1024

BROKEN_BODY_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)
"""What decompressing a body that was cut off or garbled on the way raises."""
FINISHED_STATUSES = frozenset({"completed", "no_data", "failed", "canceled"})
ARCHIVE_FILE_COLUMN = "export_file"
"""Added to rows that come from an archive of several CSVs: the CSV's file name (one file per statistic)."""
EXTRA_FIELDS_COLUMN = "extra_fields"
"""Where a CSV row's fields beyond its header go (a malformed line), instead of being dropped."""

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
TAR_MAGIC_OFFSET = 257  # "ustar" in the first header block, for POSIX and GNU tar alike


def content_export_rows(
    client: IntercomClient,
    windows: Iterable[tuple[int, int]],
    *,
    poll_seconds: float,
    max_poll_seconds: float,
    batch_size: int = 5000,
    on_window_done: Callable[[int], None],
) -> Iterator[list[Record]]:
    """Yields the content export's rows window by window, in batches of at most `batch_size`.

    For each half-open window `(start, end)` of receipt times: creates an export job, polls it (every
    `poll_seconds` at first, backing off) until it is finished, streams its file and yields its rows. A batch
    never spans two windows (nor two files of an archive). Once every row of a window has been yielded,
    calls `on_window_done(end)`: the caller stores it as its cursor. A window without data (`no_data`)
    yields nothing and is still reported done.

    Waits at most `max_poll_seconds` for a job to finish, and as long for a job that is not ours (Intercom
    allows one per workspace) to let ours be created; then raises `TransientError`. A job of ours that
    fails is retried once; one canceled by someone else, or whose download expired, is created again.
    Jobs of others are never canceled; ours is canceled when the run stops while it is still running.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    jobs = ExportJobs(client, poll_seconds=poll_seconds, max_poll_seconds=max_poll_seconds)
    for window in windows:
        yield from _batches(jobs.window_rows(window), batch_size)
        on_window_done(window[1])


class ExportJobs:
    """Runs the export jobs of one workspace, one at a time: create, poll, download, retry."""

    def __init__(self, client: IntercomClient, *, poll_seconds: float, max_poll_seconds: float) -> None:
        self._client = client
        self._poll_seconds = poll_seconds
        self._max_poll_seconds = max_poll_seconds

    def window_rows(self, window: tuple[int, int]) -> Iterator[Record]:
        """Every row received in the half-open `window`, recreating the job when it is lost.

        A job lost while its file was being read (it expired meanwhile) is replaced, and the new job's rows
        are yielded from the first: rows yielded twice are merged on `receipt_id`.
        """
        losses = _JobLosses(window)
        while True:
            job = self._create(window)
            try:
                yield from self._job_rows(job)
                return
            except _JobFailed:
                losses.failed(job)
            except _JobGone as exc:
                losses.lost(job, str(exc))

    def _job_rows(self, job: str) -> Iterator[Record]:
        """The rows of one job once it is finished (none for `no_data`)."""
        status = self._wait_for_ours(job)
        state = status.get("status")
        if state == "failed":
            raise _JobFailed(job)
        if state == "canceled":
            raise _JobGone("was canceled by someone else")
        if state == "completed":
            if _download_expired(status):
                raise _JobGone("finished, but its download had already expired")
            yield from self._download_rows(job)

    def _create(self, window: tuple[int, int]) -> str:
        """Creates the window's job, waiting while another job holds the workspace's one slot."""
        start, end = window
        body = {"created_at_after": start, "created_at_before": end - 1}
        waits = _Backoff(self._poll_seconds, self._max_poll_seconds)
        while True:
            try:
                job: str = self._client.post(CREATE_PATH, body)["job_identifier"]
            except ExportJobBusyError as exc:
                if not waits.sleep():
                    raise TransientError(
                        f"Another content export job has been running in this workspace for more than"
                        f" {self._max_poll_seconds:.0f}s, and Intercom runs one at a time ({exc}). It was"
                        " started by another tool or left by an interrupted run; run again once it has"
                        " finished.",
                        status=429,
                        code=exc.code,
                    ) from exc
                logger.info("another content export job is running; waiting to create ours")
                continue
            logger.info("content export job %s created for window %s", job, window)
            return job

    def _wait_for_ours(self, job: str) -> dict[str, Any]:
        """Polls our job until it is finished; cancels it if the run stops (or gives up) meanwhile."""
        try:
            return self._poll_until_finished(job)
        except _JobGone:
            raise
        except BaseException:
            self._cancel_quietly(job)  # frees the workspace's one job slot for the next run
            raise

    def _poll_until_finished(self, job: str) -> dict[str, Any]:
        """The job's final status, asked for after the first interval and then at growing intervals: a job
        is never finished the moment it is created, so asking at once would only cost a call."""
        waits = _Backoff(self._poll_seconds, self._max_poll_seconds)
        status: dict[str, Any] = {}
        while waits.sleep():
            try:
                status = self._client.get(STATUS_PATH.format(job=job))
            except NotFoundError as exc:
                raise _JobGone(f"disappeared ({exc})") from exc
            if status.get("status") in FINISHED_STATUSES:
                return status
        raise TransientError(
            f"Content export job {job} was still {status.get('status')!r} after"
            f" {self._max_poll_seconds:.0f}s; it was canceled. Run again later, or allow a longer"
            " wait (max_poll_seconds) or shorter windows."
        )

    def _cancel_quietly(self, job: str) -> None:
        try:
            self._client.post(CANCEL_PATH.format(job=job), {})
            logger.info("content export job %s canceled", job)
        except (IntercomError, requests.RequestException) as exc:
            logger.warning("could not cancel content export job %s (%s)", job, exc)

    def _download_rows(self, job: str) -> Iterator[Record]:
        """The rows of a completed job's file. A body that breaks off is read again from the start, and the
        rows already yielded are skipped (one job's file is fixed, so its row order is too)."""
        yielded = 0
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            try:
                with self._open_download(job) as response:
                    chunks = response.iter_content(CHUNK_BYTES)
                    for raw in islice(export_file_rows(chunks), yielded, None):
                        yield export_row(raw)
                        yielded += 1
                if yielded >= ROW_CAP:
                    logger.warning(
                        "content export job %s returned %d rows, Intercom's cap: its window is probably"
                        " incomplete; export shorter windows",
                        job,
                        yielded,
                    )
                return
            except (*TRANSIENT_EXCEPTIONS, *BROKEN_BODY_ERRORS) as exc:
                if attempt == DOWNLOAD_ATTEMPTS:
                    raise TransientError(
                        f"The file of content export job {job} broke off {attempt} times ({exc!r}); run"
                        " again later."
                    ) from exc
                logger.warning(
                    "content export %s broke off after %d rows (%r); reading it again", job, yielded, exc
                )
                time.sleep(self._poll_seconds * attempt)

    def _open_download(self, job: str) -> requests.Response:
        try:
            response: requests.Response = self._client.rest.get(
                DOWNLOAD_PATH.format(job=job),
                headers={"Accept": "application/octet-stream"},
                stream=True,
            )
        except IntercomAPIError as exc:
            if exc.status in (404, 410):
                raise _JobGone(f"could not be downloaded any more ({exc})") from exc
            raise
        return response


class _JobGone(Exception):
    """The job, or its file, is not there any more (canceled, expired): only a new job can replace it."""


class _JobFailed(Exception):
    """The job ended `failed`."""


class _JobLosses:
    """Counts the jobs of one window that ended without data to read, and decides when to give up."""

    def __init__(self, window: tuple[int, int]) -> None:
        self._window = window
        self._failures = 0
        self._lost = 0

    def failed(self, job: str) -> None:
        self._failures += 1
        if self._failures > FAILED_JOB_RETRIES:
            raise TransientError(
                f"Intercom's content export failed {self._failures} times for window {self._window} (last"
                f" job {job}); run again later, or use shorter windows."
            )
        logger.warning("content export job %s failed; exporting window %s again", job, self._window)

    def lost(self, job: str, why: str) -> None:
        self._lost += 1
        if self._lost > MAX_LOST_JOBS:
            raise TransientError(
                f"Content export job {job} {why}; {self._lost} jobs of window {self._window} were lost"
                " that way. Run again later."
            )
        logger.warning("content export job %s %s; creating a new job", job, why)


class _Backoff:
    """Sleeps growing intervals (x1.5, at most a minute) until a time budget is spent."""

    def __init__(self, first_seconds: float, budget_seconds: float) -> None:
        self._interval = first_seconds
        self._longest = max(first_seconds, POLL_MAX_INTERVAL_SECONDS)
        self._deadline = time.monotonic() + budget_seconds

    def sleep(self) -> bool:
        """Sleeps the next interval (cut at the deadline); False, not sleeping, once the budget is spent."""
        left = self._deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(self._interval, left))
        self._interval = min(self._interval * POLL_BACKOFF_FACTOR, self._longest)
        return True


def _download_expired(status: dict[str, Any]) -> bool:
    expires_at = str(status.get("download_expires_at") or "")
    return expires_at.isdigit() and int(expires_at) <= time.time()


def _batches(rows: Iterable[Record], size: int) -> Iterator[list[Record]]:
    """Lists of at most `size` rows; a new list starts where the archive file of the rows changes."""
    for _, same_file in groupby(rows, key=lambda row: row.get(ARCHIVE_FILE_COLUMN)):
        while batch := list(islice(same_file, size)):
            yield batch


def export_row(raw: dict[str, str]) -> Record:
    """A CSV row with `received_at` and the `first_*` columns as aware UTC datetimes (empty ones None)."""
    row: Record = dict(raw)
    for column, value in raw.items():
        if column == "received_at" or column.startswith("first_"):
            row[column] = from_unix(value) if value else None
    return row


def export_file_rows(chunks: Iterable[bytes]) -> Iterator[dict[str, str]]:
    """The rows of an export file, given as the byte chunks of its body, parsed as they arrive.

    The file is a gzipped CSV. Intercom's 2.6 docs describe instead a gzipped archive of several CSVs (one
    per statistic): tar is read as a stream, zip through a temporary file (it needs random access). Rows of
    an archive carry the name of their CSV in `export_file`. Raises `EOFError` when the gzip stream was cut
    off (see BROKEN_BODY_ERRORS).
    """
    body = ChunkStream(chunks)
    if body.peek(len(GZIP_MAGIC)) == GZIP_MAGIC:
        body = ChunkStream(_read_chunks(gzip.GzipFile(fileobj=body, mode="rb")))
    head = body.peek(TAR_MAGIC_OFFSET + 5)
    if head.startswith(ZIP_MAGIC):
        yield from _zip_rows(body)
    elif head[TAR_MAGIC_OFFSET:] == b"ustar":
        yield from _tar_rows(body)
    else:
        yield from _csv_rows(body)


def _csv_rows(binary: IO[bytes], file_name: str | None = None) -> Iterator[dict[str, str]]:
    # newline="" lets the csv module see the line breaks inside quoted titles; utf-8-sig drops a BOM
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    for row in csv.DictReader(text, restkey=EXTRA_FIELDS_COLUMN, restval=""):
        if file_name is not None:
            row[ARCHIVE_FILE_COLUMN] = file_name
        yield row


def _tar_rows(body: ChunkStream) -> Iterator[dict[str, str]]:
    with tarfile.open(fileobj=body, mode="r|") as archive:
        for member in archive:
            member_file = archive.extractfile(member) if _is_csv(member.name) else None
            if member_file is not None:
                # a streamed member cannot answer seekable(), which TextIOWrapper asks: hide it
                unseekable = ChunkStream(_read_chunks(member_file))
                yield from _csv_rows(unseekable, member.name.rsplit("/", 1)[-1])


def _zip_rows(body: ChunkStream) -> Iterator[dict[str, str]]:
    with tempfile.TemporaryFile() as spool:
        shutil.copyfileobj(body, spool, CHUNK_BYTES)
        spool.seek(0)
        with zipfile.ZipFile(spool) as archive:
            for info in archive.infolist():
                if not info.is_dir() and _is_csv(info.filename):
                    with archive.open(info) as member_file:
                        yield from _csv_rows(member_file, info.filename.rsplit("/", 1)[-1])


def _read_chunks(binary: IO[bytes]) -> Iterator[bytes]:
    while chunk := binary.read(CHUNK_BYTES):
        yield chunk


def _is_csv(name: str) -> bool:
    return name.lower().endswith(".csv")


class ChunkStream(io.RawIOBase):
    """A readable, non-seekable binary stream over an iterator of byte chunks, with look-ahead.

    It holds at most one chunk beyond what was read (more only as far as `peek` asks).
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._pending = bytearray()

    def readable(self) -> bool:
        return True

    def peek(self, size: int) -> bytes:
        """The next `size` bytes (fewer only at the end) without consuming them."""
        while len(self._pending) < size and self._pull():
            pass
        return bytes(self._pending[:size])

    def readinto(self, buffer: Any) -> int:
        if not self._pending and not self._pull():
            return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        del self._pending[:size]
        return size

    def _pull(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self._pending += chunk
                return True
        return False


__all__ = [
    "ExportJobs",
    "content_export_rows",
    "export_file_rows",
    "export_row",
]
