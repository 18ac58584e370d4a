"""Plain constants for the Intercom source: endpoints, regions, paging and retry defaults."""

from typing import Final

API_VERSION: Final = "2.11"
"""The `Intercom-Version` header sent with every request; field names and shapes follow this version."""

REGION_BASE_URLS: Final[dict[str, str]] = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}

PER_PAGE: Final = 150
"""The API's maximum page size, used everywhere."""

DEFAULT_START_DATE: Final = "1970-01-01T00:00:00Z"

SOURCE_CONFIG_DEFAULTS: Final[dict[str, dict[str, object]]] = {"data_writer": {"buffer_max_items": 500}}
"""dlt settings under `sources.intercom` the source supplies when the user sets none (config.SourceDefaults).

`data_writer.buffer_max_items`: rows an extract holds per table before writing them out (dlt: 5,000). The row
path's rows (contacts with social profiles) were written 5,000 at a time: the last batch, written only once
every page was in, took 0.2 s after the last response of a 200,000-contact backfill (14 ms at 500). Arrow
batches hold more rows than either, so each is written as it comes, as before."""

CONTACTS_LOOKBACK_SECONDS: Final = 3_600
"""Contact search indexes new contacts "a few minutes" late (the spec); each run re-reads this far before
its cursor (an hour, as Hevo does). Search matches dates by whole day, so the query asks for whole days,
but pages come sorted to the second, newest first, and reading stops below (cursor - lookback)."""

CONVERSATIONS_LOOKBACK_SECONDS: Final = 600
"""Conversation and ticket search match to the second; a short lookback covers clock skew and indexing."""

MAX_WORKERS: Final = 64
"""Concurrent per-record fetches (conversation details, sub-lists). All share one rate limiter.

Chosen by benchmark (BENCHMARKS.md, worker sweep): backfilling 5,000 conversations at 10,000 requests/min
(a 30.2 s bound) took 32.8 s with 32 or 64 workers at 150 ms latency, and 51.2 s with 32, 35.6 s with 48,
33.0 s with 64 at 300 ms: 64 keeps the rate limit the bound up to about 300 ms (Little's law: 167
requests/s x 0.3 s = 50 in flight)."""

ARROW_BATCH_ROWS: Final = 5_000
"""Rows of contacts or companies gathered into one Arrow table before dlt extracts it (it recomputes the
table's schema for each Arrow item, ~25 ms for contacts: per 150-row page that cost more than the rows
themselves). 50,000 contacts at zero latency: extract CPU 10.1 s in batches of 2,000, 8.2 s of 5,000, 8.2 s
of 10,000."""

READ_AHEAD_PAGES: Final = 1
"""Pages of a search or the companies scroll requested ahead of the one being processed."""

# Sliced searches (slices.py): a search range of more than SLICE_MIN_ROWS rows is read as slices of about
# SLICE_ROWS rows, SLICE_CONCURRENCY of them at once (each a cursor chain), all under the one rate limiter.
SLICE_MIN_ROWS: Final = 20 * 150
SLICE_ROWS: Final = 20 * 150
"""Each slice costs its probes and a partial last page: at 1,500 rows a 20,000-contact backfill made 190
search calls for 134 pages (full load 1.049x the API's minimum, benchmark (c)); 200,000 contacts planned as
186 slices and 292 probes at 1,500 rows, 93 slices and 145 probes at 3,000, which still keep 32 chains
busy for three rounds."""
SLICE_CONCURRENCY: Final = 32
SLICE_PARSERS: Final = 8
"""Threads of a sliced read beyond its `SLICE_CONCURRENCY` requests: they parse pages already answered
while the requests go on (slices._Slot)."""
SLICE_CHAIN_SHARE: Final = 0.7
"""A large backfill's slices hold up to this share of a chain's rows (its rows / `SLICE_CONCURRENCY`), if
that is more than `SLICE_ROWS`: fewer slices end in a part-filled page or are cut after their first page.
200,000 contacts at 500 ms: 1,422 calls and 26.5 s in slices of 3,000 rows, 1,391 and 25.5 s of 4,500
(0.72); of 6,000 (0.96) the last slices ran on alone and it took 26.6 s."""
MALLOC_ARENAS: Final = 2
"""glibc malloc arenas the CLI allows its process (allocator.py): peak RSS of a 200,000-contact load 352 ->
294 MB, extract about 7% slower."""
BACKFILL_CHUNK_ROWS: Final = 10_000
"""Rows of a search feed loaded per chunk (one load package) by the runner (`runs.load`, chunks.py); pages'
worth of rows (x PER_PAGE) for a feed none of whose selected tables reads per row (readers.ChunkReading).

A kill costs at most one chunk: 10,000 conversations with parts are ~10,000 requests, a minute at
Intercom's 10,000 requests/min. A chunk costs its package's normalize and load and about 30 more search
calls (the first page, the edge probes, the slices planned again). Measured (README, Long backfills): a
100,000-conversation backfill in 10 chunks made 1,136 search calls instead of 873; 20,000 contacts at
300 ms a request took 23-28 s in 2 chunks against 16-22 s in one."""

# HTTP behaviour
CONNECT_TIMEOUT_SECONDS: Final = 10.0
READ_TIMEOUT_SECONDS: Final = 120.0
MAX_ATTEMPTS: Final = 8
"""Attempts for a request failing transiently (5xx, reset connection, truncated body)."""
MAX_RATE_LIMIT_WAITS: Final = 30
"""429 answers tolerated for one request before giving up; each waits for the window to reset."""
BACKOFF_BASE_SECONDS: Final = 0.5
BACKOFF_MAX_SECONDS: Final = 30.0
RETRY_STATUSES: Final = frozenset({408, 500, 502, 503, 504})
RATE_LIMIT_SLOWDOWN_FRACTION: Final = 0.05
"""Below this fraction of the window's budget, requests are spread evenly over the rest of the window.

Requests in flight already count against the budget, so this only guards against clocks and counts that
drift from Intercom's. A mixed workspace of 1,580 calls (5,000 contacts, 485 companies, 1,500 conversations,
150 ms) fits one 10-second window of the 10,000/min limit: at 0.2 its last 330 calls were spread to the
window's end (extract 10.0-10.1 s), at 0.05 the extract took 8.4-9.1 s, with no 429 either way."""

# Companies scroll
SCROLL_BUSY_WAIT_SECONDS: Final = 15.0
"""Wait between attempts while another scroll is open for the app (it expires after one idle minute)."""
SCROLL_BUSY_MAX_WAIT_SECONDS: Final = 180.0
SCROLL_MAX_RESTARTS: Final = 5

# Endpoints the client itself knows; every table's endpoints are in catalogue.py
ME: Final = "/me"
COMPANIES_SCROLL: Final = "/companies/scroll"

ACTIVITY_LOG_WINDOW_DAYS: Final = 30
EXPORT_WINDOW_DAYS: Final = 30
"""Content export job length: a two-year backfill is 25 jobs."""
EXPORT_LOOKBACK_SECONDS: Final = 86_400
"""Each export run starts this far before its cursor: receipts recorded late, and the engagement columns
(`first_open`, `first_click` ...) of recent receipts, are picked up again and merged on `receipt_id`."""
EXPORT_POLL_SECONDS: Final = 1.0
"""First wait before an export job's status is asked for; each later wait is 1.5x longer, at most a minute.
Small jobs finish within a second or two, so a first run's two years of windows are not paced by the polls
(24 windows first polled after 10 s took over 4 minutes for a 300-contact workspace); a job running for
minutes is still asked about only every minute."""
EXPORT_READ_AHEAD_BATCHES: Final = 2
"""Batches of export rows (5,000 rows at most each) the background export thread may run ahead of the load."""
EXPORT_MAX_WAIT_SECONDS: Final = 1800.0
"""How long one export job (ours, or another holding the workspace's single slot) may take."""
HISTORY_YEARS: Final = 2
"""Windowed resources (activity logs, content exports) start this far back when no start_date is given."""

FILE_FORMAT: Final = "parquet"
"""Every table's preferred load file format (dlt's `file_format` hint), so `pipeline.run(intercom_source())`
loads parquet where the destination takes it without being told: DuckDB loads parquet 50-100x faster than
its default insert statements. Destinations without parquet (Postgres) load their own format instead."""

DATA_ATTRIBUTE_MODELS: Final = ("contact", "company", "conversation")

TIMESTAMP_KEYS_EXTRA: Final = frozenset({"waiting_since", "snoozed_until"})
"""Timestamp fields whose names do not end in `_at`."""

CONTACT_TRUNCATED_LISTS: Final = (
    "tags",
    "notes",
    "companies",
    "opted_in_subscription_types",
    "opted_out_subscription_types",
)
"""Lists a contact embeds cut at 10 items: never loaded from the embedded copy."""

# DuckDB's memory limit while the analytics models are built (models.py): the load's own cap (64 MB in
# .dlt/config.toml) is too small for intercom__contact_enhanced at 200,000 contacts (it fits in 128-256 MB);
# a higher limit set by the user is kept.
MODELS_DUCKDB_MEMORY_LIMIT: Final = "1GB"
