"""dlt source for the Intercom REST API 2.11.

`intercom_source()` validates its options, makes the client and returns the resources `build.py` binds:
one per table of the catalogue (catalogue.py), read by the readers (readers.py); `client.py` owns HTTP,
`records.py` declares the shapes of rows and `arrow_pages.py` the Arrow path (docs/architecture.md).
Every argument resolves the dlt way too (`SOURCES__INTERCOM__REGION`, `.dlt/config.toml`,
`.dlt/secrets.toml`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dlt
from dlt.sources import DltResource

from . import settings
from .arrow_pages import Pages
from .build import build_resources
from .catalogue import ENTRIES
from .client import IntercomClient, make_client
from .config import parse_date_range, register_source_defaults
from .errors import (
    AuthenticationError,
    ConfigurationError,
    IntercomAPIError,
    IntercomError,
    NotFoundError,
    PlanRestrictedError,
    TransientError,
)
from .models import ModelsReport, build_models, drop_models
from .readers import DataAttributes, Run
from .runs import finish_interrupted_loads, table_row_counts
from .skips import Skips, required_entries, skipped_resources

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "IntercomAPIError",
    "IntercomClient",
    "IntercomError",
    "ModelsReport",
    "NotFoundError",
    "PlanRestrictedError",
    "TransientError",
    "build_models",
    "drop_models",
    "finish_interrupted_loads",
    "intercom_source",
    "make_client",
    "skipped_resources",
    "table_row_counts",
]

DATA_EVENTS_SCOPES = ("changed", "all")


@dlt.source(name="intercom", max_table_nesting=1)
def intercom_source(
    access_token: str = dlt.secrets.value,
    region: str = "us",
    base_url: str | None = None,
    api_version: str = settings.API_VERSION,
    start_date: Any = None,
    end_date: Any = None,
    contacts_lookback_seconds: int = settings.CONTACTS_LOOKBACK_SECONDS,
    conversations_lookback_seconds: int = settings.CONVERSATIONS_LOOKBACK_SECONDS,
    activity_log_window_days: int = settings.ACTIVITY_LOG_WINDOW_DAYS,
    export_window_days: int = settings.EXPORT_WINDOW_DAYS,
    export_poll_seconds: float = settings.EXPORT_POLL_SECONDS,
    export_max_wait_seconds: float = settings.EXPORT_MAX_WAIT_SECONDS,
    reconcile_deletes: bool = False,
    max_workers: int = settings.MAX_WORKERS,
    retry_backoff_seconds: float = settings.BACKOFF_BASE_SECONDS,
    arrow: bool = True,
    history: bool = False,
    required_resources: Sequence[str] | None = None,
    data_events_scope: str = "changed",
) -> Sequence[DltResource]:
    """Every readable Intercom object as a dlt resource.

    Args:
        access_token: A private-app or OAuth access token.
        region: "us", "eu" or "au": where the workspace is hosted.
        base_url: Overrides the region's URL (proxies, the simulator). Plain http only on loopback.
        api_version: The `Intercom-Version` header. Shapes are those of 2.11.
        start_date: Load objects updated at or after this instant (ISO-8601, datetime or pendulum).
        end_date: With `start_date`, a bounded backfill of objects updated before this instant. A bounded
            run neither reads nor moves the incremental cursors.
        contacts_lookback_seconds: How far before the cursor each contacts run starts (search is
            day-granular and indexes new contacts late). Rows re-read unchanged are not loaded again.
        conversations_lookback_seconds: The same for conversations and tickets (search to the second).
        activity_log_window_days: Length of the created_at windows admin activity logs are read in.
        export_window_days: Length of the receipt-time windows of content export jobs (one job each).
        export_poll_seconds: First interval between polls of an export job's status (it backs off).
        export_max_wait_seconds: How long an export job, ours or another holding the workspace's only
            slot, may take before the run gives up.
        reconcile_deletes: List every contact id (GET /contacts, 150 per call) and compare the scroll's
            company ids with the destination: rows the API no longer returns get `deleted_at` set and their
            membership rows removed. Skipped on bounded (`end_date`) runs.
        max_workers: Concurrent per-record fetches (details, sub-lists); all share one rate limiter.
        retry_backoff_seconds: First backoff delay for transient faults; it doubles on each retry.
        arrow: Parse the pages of contacts, companies and conversation parts straight into Arrow tables
            (sources/intercom/arrow_pages.py), which skips dlt's row normalizer. False loads them row by
            row; the tables are the same either way.
        history: Keep every version of contacts, companies and conversations (dlt's scd2, history.py):
            each row gets `_dlt_valid_from` / `_dlt_valid_to` (load times; null: the current version).
            A dataset loaded in one mode cannot be loaded in the other (ConfigurationError).
        required_resources: Tables whose refusal by Intercom (403: the plan, or a permission the app lacks)
            fails the run. Any other table refused is skipped with one warning naming the permission it
            needs, the rest loads, and `skipped_resources(pipeline)` lists it. The CLI passes the tables
            named in `--resources`.
        data_events_scope: Whose events `data_events` reads: "changed" (contacts whose `updated_at` moved
            since the last run; tracking an event does not move it) or "all" (every contact, listed with
            GET /contacts: one more call per 150 contacts and one per contact).
    """
    start, end = parse_date_range(start_date, end_date)
    register_source_defaults()
    if data_events_scope not in DATA_EVENTS_SCOPES:
        raise ConfigurationError(
            f"data_events_scope must be one of {', '.join(DATA_EVENTS_SCOPES)}, not {data_events_scope!r}."
        )
    required = required_entries(required_resources)
    for name, days in (
        ("activity_log_window_days", activity_log_window_days),
        ("export_window_days", export_window_days),
    ):
        if days < 1:
            raise ConfigurationError(f"{name} must be at least 1 day, not {days}.")
    client = make_client(access_token, region, base_url, api_version, max_workers, retry_backoff_seconds)
    run = Run(
        client=client,
        pages=Pages(arrow),
        attributes=DataAttributes(client, ENTRIES["data_attributes"]),
        start=start,
        end=end,
        start_given=start_date not in (None, ""),
        contacts_lookback_seconds=contacts_lookback_seconds,
        conversations_lookback_seconds=conversations_lookback_seconds,
        activity_log_window_days=activity_log_window_days,
        export_window_days=export_window_days,
        export_poll_seconds=export_poll_seconds,
        export_max_wait_seconds=export_max_wait_seconds,
        reconcile_deletes=reconcile_deletes,
        history=history,
        skips=Skips(required),
        data_events_scope=data_events_scope,
    )
    # The feeds (contact_changes, company_changes, ticket_changes) are not returned: dlt evaluates each once
    # as the parent of the tables selected from it, and they never become tables of their own.
    return build_resources(run)
