"""Resources Intercom refuses (403) are skipped: the rest of the run loads and commits.

A 403 (`api_plan_restricted`, or a token without the permission, `token_unauthorized`) is the same on every
retry and every run until someone grants the permission, so one refused endpoint must not cost the tables
that are allowed. Every reader runs inside `skippable`: on `PlanRestrictedError` the resource stops, its
state is put back as it was (its cursor does not move), one warning names the tables lost and the
permission they need, and the tables read from it (its transformers) get nothing, silently.

A resource the user asked for by name (`required_resources`, the CLI's `--resources`) is not skipped: its
403 fails the run as before. A skipped `replace` table keeps what it holds (dlt would otherwise truncate a
replace table that got no rows).

What was skipped is kept in the source state under `skipped_resources`, with the run's load id, so it is
committed with the load and read back by `skipped_resources(pipeline)`.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import dlt
from dlt.common import logger
from dlt.common.storages.exceptions import CurrentLoadPackageStateNotAvailable
from dlt.extract.exceptions import CurrentSourceNotAvailable

from .catalogue import CATALOGUE, ENTRIES, Entry, descendants
from .errors import ConfigurationError, PlanRestrictedError

SOURCE_NAME = "intercom"
STATE_KEY = "skipped_resources"


def required_entries(names: Iterable[str] | None) -> frozenset[str]:
    """The entries whose 403 must fail the run: the named tables and everything they are read from."""
    wanted = {name.strip() for name in names or () if name.strip()}
    tables = [entry.name for entry in CATALOGUE if not entry.internal]
    unknown = sorted(wanted - set(tables))
    if unknown:
        raise ConfigurationError(
            f"Unknown resource(s) {', '.join(unknown)} in required_resources;"
            f" choose from: {', '.join(tables)}"
        )
    return frozenset(
        entry.name
        for entry in CATALOGUE
        if entry.name in wanted or wanted & {child.name for child in descendants(entry.name)}
    )


class Skips:
    """The entries of one source skipped in the current load, kept in the source state (thread-safe).

    Outside a pipeline's extract (a resource iterated directly) there is no load and no source state: the
    record is then kept here, for the life of the source."""

    def __init__(self, required: frozenset[str]) -> None:
        self.required = required
        self._lock = threading.Lock()
        self._detached: dict[str, Any] = {}

    def is_skipped(self, entry: Entry) -> bool:
        with self._lock:
            return entry.name in self._record(create=False).get("entries", {})

    def skip(self, entry: Entry, refused: PlanRestrictedError) -> None:
        """Records `entry` as skipped and warns once; re-raises `refused` for a required entry."""
        if entry.name in self.required:
            raise refused
        with self._lock:
            entries = self._record(create=True)["entries"]
            if entry.name in entries:
                return  # a transformer refused again on another page: warned already
            tables = _lost_tables(entry)
            entries[entry.name] = {"tables": tables, "permission": entry.permission}
            _keep_replaced_tables(tables)
        answer = f"{refused.status} {refused.code}"
        what = f"{refused.endpoint} ({answer})" if refused.endpoint else answer
        logger.warning(
            f"skipped {', '.join(tables)}: Intercom refused {what}; grant the app the permission"
            f' "{entry.permission}" (or check the workspace plan), the other resources are loaded'
        )

    def _record(self, create: bool) -> dict[str, Any]:
        """This load's record (`{"load_id", "entries"}`); a record of an earlier load counts as none. Only
        `create` writes one: a run that skips nothing leaves the source state alone."""
        try:
            load_id = dlt.current.load_package_state()["load_id"]
            state = dlt.current.source_state()
        except CurrentLoadPackageStateNotAvailable:
            load_id, state = None, self._detached
        record = state.get(STATE_KEY)
        if record and record.get("load_id") == load_id:
            return record
        if not create:
            return {}
        record = state[STATE_KEY] = {"load_id": load_id, "entries": {}}
        return record


def skippable(read: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """`read` (a reader, readers.py) stopping quietly when Intercom refuses its resource (see module)."""

    @functools.wraps(read)
    def guarded(*args: Any, run: Any, entry: Entry, **kwargs: Any) -> Iterator[Any]:
        skips: Skips = run.skips
        if skips.is_skipped(entry):
            return  # a transformer's next page: no request, no warning
        # only resources (not transformers) keep state: the cursor, recent rows, the export window
        state = dlt.current.resource_state() if entry.parent is None else None
        before = copy.deepcopy(state) if state is not None else None
        try:
            yield from read(*args, run=run, entry=entry, **kwargs)
        except PlanRestrictedError as refused:
            skips.skip(entry, refused)
            if state is not None and before is not None:
                state.clear()
                state.update(before)

    return guarded


def skipped_resources(pipeline: dlt.Pipeline) -> dict[str, str]:
    """The tables the pipeline's last run skipped because Intercom refused them (403), each with the
    app permission it needs; empty when nothing was skipped.

    After `pipeline.run(intercom_source())`, a non-empty result means a partial load: every other table
    was loaded and committed, and the skipped ones (with their cursors) are as they were before the run.
    """
    trace = pipeline.last_trace
    extract = trace.last_extract_info if trace is not None else None
    if extract is None:
        return {}
    record = pipeline.state.get("sources", {}).get(SOURCE_NAME, {}).get(STATE_KEY) or {}
    if record.get("load_id") not in extract.loads_ids:
        return {}
    return {
        table: skipped["permission"]
        for skipped in record.get("entries", {}).values()
        for table in skipped["tables"]
    }


def _lost_tables(entry: Entry) -> list[str]:
    """The selected tables that get nothing because `entry` is skipped: itself and those read from it."""
    return selected_tables((entry, *descendants(entry.name)))


def selected_tables(entries: Iterable[Entry]) -> list[str]:
    """The tables of `entries` the running source has selected; all of them (but internal feeds) when the
    selection is unknown (a resource iterated on its own)."""
    try:
        selected = dlt.current.source().selected_resources
    except CurrentSourceNotAvailable:
        return [table.name for table in entries if not table.internal]
    return [table.name for table in entries if table.name in selected]


def _keep_replaced_tables(tables: Iterable[str]) -> None:
    """dlt truncates a selected `replace` table that got no rows (its `_handle_empty_tables`); a skipped one
    is loaded as `append` for this run instead, i.e. it keeps what it holds. The next run builds the
    resource anew, with `replace`."""
    try:
        resources = dlt.current.source().resources
    except CurrentSourceNotAvailable:
        return
    for table in tables:
        if ENTRIES[table].write_disposition == "replace" and table in resources:
            resources[table].apply_hints(write_disposition="append")
