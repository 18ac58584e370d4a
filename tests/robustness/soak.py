"""The chaos soak: scheduled incremental CLI runs against one simulated workspace that keeps changing.

Before every run the workspace changes (updated, new, deleted, archived and merged contacts, tags, company
links, subscriptions, notes, companies, conversations and their parts, tickets and theirs, export rows,
activity logs). Every run meets seeded transient faults (5xx, resets, truncated bodies, slow answers; a 500
on the companies scroll breaks it), search index lag, in some runs a 429 burst, and in about a third of the
runs a SIGKILL at a random moment. After every run that completes, every table equals what the API could
show at that moment, no key appears twice, and no stored cursor is ahead of the loaded data; after a killed
run the committed cursors are still behind the loaded data, and the next completed run is exact again.

    python -m tests.robustness.soak --runs 30 --seed 7      # the long soak: one line per run, then totals

`test_soak.py` runs the CI version (8 runs).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

import intercom_sim
from sources.intercom import settings
from tests.robustness.kills import PHASES, assert_cursors_safe_after_kill, kill_cli_when, trigger_for
from tests.robustness.support import (
    CURSOR_OWNERS,
    TOKEN,
    assert_cursors_behind_loaded_data,
    assert_equals_truth,
    assert_no_duplicate_keys,
    cli_env,
    committed_state,
    cursors,
    destination_tables,
    epoch,
    harness_args,
    hidden_contacts,
    local_state,
    run_cli,
)
from tests.source.conftest import Harness

SOAK_RESOURCES = (
    "contacts",
    "contact_tags",
    "contact_companies",
    "contact_subscriptions",
    "notes",
    "companies",
    "company_segments",
    "conversations",
    "conversation_parts",
    "tickets",
    "ticket_parts",
    "admin_activity_logs",
    "content_exports",
    "admins",
    "teams",
    "tags",
    "segments",
    "subscription_types",
    "data_attributes",
)
SOAK_OWNERS = {**CURSOR_OWNERS, "tickets": "ticket_changes"}
"""Tables with an `updated_at` cursor -> the resource whose state holds it."""
HOUR = 3600
CLOCK_BEHIND = 12 * HOUR
"""The simulated clock starts this far behind the real one and moves at most ~16 minutes per run: activity
logs and export rows are read up to the real time, so nothing may be dated after it."""
EXPORT_RECEIVED_WITHIN = 6 * HOUR
"""New export rows are received at most this long before the simulated clock. Each export starts a day
before the end of the last one (a real time), so rows this recent are always inside it."""
SOAK_WORKSPACE: dict[str, Any] = {
    "contacts": 120,
    "companies": 30,
    "conversations": 40,
    "tickets": 12,
    "activity_logs": 40,
    "export_rows": 0,  # generated ones reach back two years before the clock: some would be out of range
}
SOAK_KNOBS: dict[str, Any] = {
    "rate_limit": 0,
    "latency_ms": 2,
    "scroll_page_size": 10,  # several scroll pages: a fault can break the scroll in the middle
    "scroll_ttl_seconds": 1.0,  # a scroll left open by a kill or a lost page expires before long
    "fault_slow_seconds": 0.3,
    "export_delay_seconds": 0.05,
    # New contacts reach the search index 5 minutes late: a contact created shortly before a run is not
    # there yet. Constant, so that a contact once searchable stays so, as in Intercom.
    "search_lag_seconds": 300,
}
SOURCE_SETTINGS = {
    "SOURCES__INTERCOM__RECONCILE_DELETES": "true",  # deletes are part of the truth compared
    "SOURCES__INTERCOM__RETRY_BACKOFF_SECONDS": "0.05",
    "SOURCES__INTERCOM__EXPORT_POLL_SECONDS": "0.05",
    "SOURCES__INTERCOM__EXPORT_WINDOW_DAYS": "365",  # 3 export jobs on the first run instead of 25
}
FAULT_KINDS = ("500", "502", "503", "reset", "truncate", "slow")
FAULT_RATES = (0.0, 0.02, 0.05, 0.08)
KILL_TARGETS = (*PHASES, "anytime")
BURST_SHARE = 0.25
"""Share of the runs in which another app spends the rate limit: the connector meets 429s (`Burst`)."""


# ------------------------------------------------------------------------------------- the workspace


def soak_harness(tmp_path: Path, seed: int) -> Harness:
    """A workspace on a clock 12 hours behind the real one, served by a simulator with the soak's knobs."""
    workspace = intercom_sim.Workspace(seed=seed, now=int(time.time()) - CLOCK_BEHIND, **SOAK_WORKSPACE)
    workspace.add_export_rows(60, within_seconds=EXPORT_RECEIVED_WITHIN)
    server = intercom_sim.start(workspace, port=0, token=TOKEN, **SOAK_KNOBS)
    return Harness(
        workspace, server, tmp_path, pipeline_name="intercom", source_options={"access_token": TOKEN}
    )


class Changes:
    """Applies named workspace mutations and counts them."""

    def __init__(self, workspace: Any, rng: random.Random) -> None:
        self.ws, self.rng, self.done = workspace, rng, Counter[str]()

    def apply(self, mutation: str, /, *args: Any, **kwargs: Any) -> Any:
        self.done[mutation] += 1
        return self.ws.mutation(mutation)(*args, **kwargs)

    def contact(self) -> str:
        return self.rng.choice(sorted(self.ws.contacts))

    def pick(self, ids: Any) -> str:
        return self.rng.choice(sorted(ids))

    def tick(self) -> None:
        """A few seconds pass between changes: they do not all share one `updated_at`."""
        self.ws.clock.advance(self.rng.randint(1, 30))


def change_workspace(workspace: Any, rng: random.Random) -> Counter[str]:
    """Between two runs: the clock moves on and every kind of change the connector reads happens."""
    ws, changes = workspace, Changes(workspace, rng)
    ws.clock.advance(rng.randint(60, 900))
    change_contacts(changes)
    changes.tick()
    change_companies(changes)
    changes.tick()
    change_conversations_and_tickets(changes)
    changes.apply("add_export_rows", rng.randint(1, 6), within_seconds=EXPORT_RECEIVED_WITHIN)
    for _ in range(rng.randint(0, 2)):
        changes.apply("add_activity_log")
    changes.tick()
    remove_contacts(changes)
    assert ws.clock.now() < time.time(), "the simulated clock overtook the real one: fewer runs"
    return changes.done


def change_contacts(changes: Changes) -> None:
    ws, rng = changes.ws, changes.rng
    for cid in rng.sample(sorted(ws.contacts), 3):
        changes.apply("update_contact", cid, name=f"Renamed {rng.randrange(10**6)} ✓")
    new = changes.apply("create_contact", email=f"new-{rng.randrange(10**9)}@example.com", name="New Person")
    if rng.random() < 0.5:
        changes.apply("tag_contact", new, changes.pick(ws.tags))
    changes.tick()
    tagged = changes.contact()
    if ws.contact_tag_ids(tagged):
        changes.apply("untag_contact", tagged, rng.choice(ws.contact_tag_ids(tagged)))
    changes.apply("tag_contact", changes.contact(), changes.pick(ws.tags))
    changes.apply("attach_company", changes.contact(), changes.pick(ws.companies))
    linked = changes.contact()
    if ws.contact_company_ids(linked):
        changes.apply("detach_company", linked, rng.choice(ws.contact_company_ids(linked)))
    state = rng.choice(["opt_in", "opt_out", None])
    changes.apply("set_subscription", changes.contact(), changes.pick(ws.subscription_types), state)
    changes.apply("add_note", changes.contact(), f"<p>called back {rng.randrange(10**6)}</p>")


def change_companies(changes: Changes) -> None:
    ws, rng = changes.ws, changes.rng
    changes.apply("update_company", changes.pick(ws.companies), name=f"Renamed Co {rng.randrange(10**6)}")
    if rng.random() < 0.5:
        changes.apply("create_company", name=f"New Co {rng.randrange(10**6)}")
    if rng.random() < 0.15 and len(ws.companies) > 10:
        changes.apply("delete_company", changes.pick(ws.companies))


def change_conversations_and_tickets(changes: Changes) -> None:
    ws, rng = changes.ws, changes.rng
    for conversation_id in rng.sample(sorted(ws.conversations), 2):
        changes.apply("add_conversation_part", conversation_id, body="<p>a new reply</p>")
    state = rng.choice(["open", "closed", "snoozed"])
    changes.apply("update_conversation", changes.pick(ws.conversations), state=state)
    changes.apply("create_conversation", contact_id=changes.contact())
    if rng.random() < 0.5:
        changes.apply("create_ticket")
    changes.apply("update_ticket", changes.pick(ws.tickets), open=rng.random() < 0.5)
    changes.apply("add_ticket_part", changes.pick(ws.tickets), body="<p>on it</p>")


def remove_contacts(changes: Changes) -> None:
    """Last, so that no other change of this round picks a removed contact."""
    ws, rng = changes.ws, changes.rng
    if rng.random() < 0.35:
        changes.apply(rng.choice(["delete_contact", "archive_contact"]), changes.contact())
    if rng.random() < 0.2:
        source, target = rng.sample(sorted(ws.contacts), 2)
        changes.apply("merge_contacts", source, target)


# ------------------------------------------------------------------------------------------ the chaos


@dataclass(frozen=True)
class Chaos:
    """What one run meets: fault draws, a 429 burst after `burst_after` requests, a kill."""

    fault_rate: float
    fault_kinds: tuple[str, ...]
    fault_seed: int
    burst_after: int | None
    kill: str | None

    def knobs(self) -> dict[str, Any]:
        return {
            "fault_rate": self.fault_rate,
            "fault_kinds": self.fault_kinds,
            "fault_seed": self.fault_seed,
        }

    def describe(self) -> str:
        faults = (
            f"faults {self.fault_rate:.0%} {'/'.join(self.fault_kinds)}" if self.fault_rate else "no faults"
        )
        burst = f", 429 burst after {self.burst_after} requests" if self.burst_after is not None else ""
        kill = f", kill aimed at {self.kill}" if self.kill else ""
        return f"{faults}{burst}{kill}"


def draw_chaos(rng: random.Random, kill: bool) -> Chaos:
    kinds = tuple(sorted(rng.sample(FAULT_KINDS, rng.randint(2, len(FAULT_KINDS)))))
    return Chaos(
        fault_rate=rng.choice(FAULT_RATES),
        fault_kinds=kinds,
        fault_seed=rng.randrange(10**6),
        burst_after=rng.randint(3, 25) if rng.random() < BURST_SHARE else None,
        kill=rng.choice(KILL_TARGETS) if kill else None,
    )


def chaos_schedule(runs: int, seed: int) -> list[Chaos]:
    """What each run meets, from the seed alone (its own random stream): a kill in a third of the runs,
    never the last, so that the soak ends on a completed run."""
    rng = random.Random(f"{seed}:chaos")
    killed = set(rng.sample(range(runs - 1), runs // 3)) if runs > 1 else set()
    return [draw_chaos(rng, number in killed) for number in range(runs)]


@dataclass
class Burst:
    """Another app spends the rate limit once the connector has made `after` requests: it takes each
    10-second window's whole budget until the connector has met a 429, and that window's end."""

    harness: Harness
    after: int
    start: int
    happened: bool = False
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        server = self.harness.server
        while server.request_count - self.start < self.after:
            if self.stop.wait(0.005):
                return
        rejected = server.status_counts.get(429, 0)
        limit, server.knobs.rate_limit = server.knobs.rate_limit, 6  # one request per 10-second window
        session = requests.Session()
        try:
            spent = None
            while server.status_counts.get(429, 0) == rejected:  # until the connector meets one
                if int(time.time() // 10) != spent:
                    spent = int(time.time() // 10)
                    self.knock(session)  # the other app takes this window's one request
                if self.stop.wait(0.005):
                    return
            self.happened = True
            window = int(time.time() // 10)
            while int(time.time() // 10) == window and not self.stop.wait(0.01):
                pass
        finally:
            server.knobs.rate_limit = limit
            session.close()

    def knock(self, session: requests.Session) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
        session.get(f"{self.harness.server.base_url}/me", headers=headers, timeout=10)


@contextmanager
def burst(harness: Harness, after: int | None) -> Iterator[Burst | None]:
    if after is None:
        yield None
        return
    state = Burst(harness, after, harness.server.request_count)
    thread = threading.Thread(target=state.run, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        thread.join(timeout=15)


# ------------------------------------------------------------------------------------------- one run


@dataclass
class RunReport:
    number: int
    chaos: Chaos
    outcome: str
    seconds: float
    requests: int
    faults: dict[str, int]
    too_many: int
    changes: int
    hidden: int
    retries: int
    scroll_restarts: int

    @property
    def kill_phase(self) -> str | None:
        prefix = "killed in "
        return self.outcome.removeprefix(prefix).split(" (")[0] if self.outcome.startswith(prefix) else None


def soak_env() -> dict[str, str]:
    return cli_env(**SOURCE_SETTINGS)


def soak_args(harness: Harness) -> list[str]:
    return [*harness_args(harness, SOAK_RESOURCES), "--no-models"]


@dataclass
class Outcome:
    text: str
    """"exact" when the run completed (and was checked), else where the kill landed."""
    log: str = ""
    """The CLI's stderr (completed runs): its retry and scroll restart warnings are counted."""


def run_once(harness: Harness, chaos: Chaos, rng: random.Random, typical_seconds: float) -> Outcome:
    """One CLI run under `chaos`, checked: exact when it completed, safe when it was killed."""
    if chaos.kill is None:
        completed = run_cli(soak_args(harness), cwd=harness.tmp_path, env=soak_env())
        with (harness.tmp_path / "cli_runs.log").open("a", encoding="utf-8") as output:
            output.write(completed.stderr)
        assert completed.returncode == 0, f"the run failed: {completed.stderr[-3000:]}"
        assert_exact(harness)
        return Outcome("exact", completed.stderr)
    condition, delay = kill_trigger(harness, chaos.kill, rng, typical_seconds)
    kill = kill_cli_when(harness, condition, delay, SOAK_RESOURCES, soak_env(), ["--no-models"])
    if kill.phase == "finished":
        assert kill.detail == "exit status 0", f"the run failed: see {harness.tmp_path / 'cli_runs.log'}"
        assert_exact(harness)
        return Outcome("exact (ended before the kill)")
    assert_safe_after_kill(harness)
    return Outcome(f"killed in {kill.phase} ({kill.detail})")


def kill_trigger(
    harness: Harness, target: str, rng: random.Random, typical_seconds: float
) -> tuple[Callable[[], bool], float]:
    """A phase's trigger (kills.py), or for "anytime" a random moment of a typical run."""
    if target == "anytime":
        return (lambda: True), rng.uniform(0.2, typical_seconds)
    return trigger_for(harness, target, rng)


def assert_exact(harness: Harness) -> None:
    """After a completed run: the tables equal the truth, keys are unique, cursors agree and are safe."""
    with harness.reading():
        assert_exact_now(harness)


def assert_exact_now(harness: Harness) -> None:
    assert_equals_truth(harness)
    assert_no_duplicate_keys(harness)
    committed, local = (
        cursors(committed_state(harness), SOAK_OWNERS),
        cursors(local_state(harness), SOAK_OWNERS),
    )
    assert committed == local, f"committed cursors {committed}, local {local}"
    assert_cursors_behind_loaded_data(harness, committed)
    assert_cursors_on_newest_loaded(harness, committed)
    assert_window_cursors_behind_loaded_data(harness)


def assert_safe_after_kill(harness: Harness) -> None:
    """After a kill: no key twice and no committed cursor past data the destination lacks."""
    if not destination_tables(harness):
        return  # killed before its first load created the dataset
    with harness.reading():
        assert_safe_now(harness)


def assert_safe_now(harness: Harness) -> None:
    assert_no_duplicate_keys(harness)
    assert_cursors_safe_after_kill(harness, SOAK_OWNERS)
    assert_window_cursors_behind_loaded_data(harness, since_the_cursor_run=False)


def assert_cursors_on_newest_loaded(harness: Harness, table_cursors: dict[str, int]) -> None:
    """A completed run leaves each cursor on the newest `updated_at` loaded (rows marked deleted included)."""
    for table, cursor in table_cursors.items():
        newest = harness.query(f"SELECT max(updated_at) FROM {table}")[0][0]
        assert cursor == epoch(newest), f"{table} cursor {cursor}, newest loaded {epoch(newest)}"


def assert_window_cursors_behind_loaded_data(harness: Harness, since_the_cursor_run: bool = True) -> None:
    """Activity logs up to their `created_at` cursor and export rows received up to `exported_until` (the
    committed states) are all loaded.

    Export rows arrive late (`EXPORT_RECEIVED_WITHIN`), so after a kill, when the committed cursor is an
    older run's and rows were added since (`since_the_cursor_run` False), only those received before the
    next run's start (`exported_until` minus the one-day lookback) must be loaded.
    """
    resources = (committed_state(harness) or {}).get("sources", {}).get("intercom", {}).get("resources", {})
    ws = harness.workspace
    logs_cursor = resources.get("admin_activity_logs", {}).get("incremental", {}).get("created_at", {})
    if "last_value" in logs_cursor:
        cursor = epoch(logs_cursor["last_value"])
        behind = {log_id for log_id, log in ws.activity_logs.items() if log["created_at"] <= cursor}
        loaded = {row[0] for row in harness.query("SELECT id FROM admin_activity_logs")}
        assert behind <= loaded, f"the activity log cursor {cursor} passed logs never loaded"
    exported_until = resources.get("content_exports", {}).get("exported_until")
    if exported_until is not None:
        bound = exported_until if since_the_cursor_run else exported_until - settings.EXPORT_LOOKBACK_SECONDS
        behind = {row["receipt_id"] for row in ws.export_rows if row["received_at"] <= bound}
        loaded = {row[0] for row in harness.query("SELECT receipt_id FROM content_exports")}
        assert behind <= loaded, f"exported_until {exported_until} passed export rows never loaded"


# ------------------------------------------------------------------------------------------ the soak


@dataclass
class SoakReport:
    seed: int
    runs: list[RunReport]

    def totals(self) -> dict[str, Any]:
        faults = Counter[str]()
        for run in self.runs:
            faults.update(run.faults)
        return {
            "runs": len(self.runs),
            "completed and exact": sum(run.outcome.startswith("exact") for run in self.runs),
            "killed": sum(run.outcome.startswith("killed") for run in self.runs),
            "kills landed in": dict(Counter(run.kill_phase for run in self.runs if run.kill_phase)),
            "requests": sum(run.requests for run in self.runs),
            "faults injected": dict(sorted(faults.items())),
            "429s": sum(run.too_many for run in self.runs),
            "retries (completed runs)": sum(run.retries for run in self.runs),
            "scroll restarts (completed runs)": sum(run.scroll_restarts for run in self.runs),
            "bursts": sum(run.chaos.burst_after is not None for run in self.runs),
            "contacts not yet searchable at a run": sum(run.hidden for run in self.runs),
            "workspace changes": sum(run.changes for run in self.runs),
            "seconds": round(sum(run.seconds for run in self.runs), 1),
        }


def soak(harness: Harness, runs: int, seed: int, log: Callable[[str], None] = print) -> SoakReport:
    """`runs` scheduled runs against `harness`'s simulator; raises AssertionError at the first inexact one."""
    schedule = chaos_schedule(runs, seed)
    changes_rng, kills_rng = random.Random(f"{seed}:changes"), random.Random(f"{seed}:kills")
    report = SoakReport(seed, [])
    typical = 5.0
    for number, chaos in enumerate(schedule):
        changes = change_workspace(harness.workspace, changes_rng) if number else Counter[str]()
        server = harness.server
        server.knobs.update(**chaos.knobs())
        server.reset_counters()
        started = time.monotonic()
        with burst(harness, chaos.burst_after):
            outcome = run_once(harness, chaos, kills_rng, typical)
        seconds = time.monotonic() - started
        if outcome.text.startswith("exact"):
            typical = seconds
        run = RunReport(
            number + 1,
            chaos,
            outcome.text,
            seconds,
            server.request_count,
            dict(server.fault_counts),
            server.status_counts.get(429, 0),
            sum(changes.values()),
            len(hidden_contacts(harness)),
            outcome.log.count("retrying in"),
            outcome.log.count("companies scroll broke"),
        )
        report.runs.append(run)
        log(
            f"run {run.number:>2}: {run.outcome}; {chaos.describe()}; {run.changes} changes before it;"
            f" {run.requests} requests, faults {run.faults or 0}, {run.too_many} 429s, {run.retries} retries,"
            f" {run.scroll_restarts} scroll restarts, {run.hidden} contacts unsearchable; {seconds:.1f}s"
        )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (DuckDB, CLI logs)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="intercom-soak-"))
    harness = soak_harness(folder, args.seed)
    try:
        report = soak(harness, args.runs, args.seed)
    except AssertionError as exc:
        print(f"NOT EXACT: {exc}\n(folder kept: {folder})", file=sys.stderr)
        return 1
    finally:
        harness.server.stop()
    print(f"seed {args.seed}: {report.totals()}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
