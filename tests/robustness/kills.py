"""SIGKILLs of a CLI run at a chosen phase, and where they landed, read from the pipeline's folders.

Shared by the kill tests (test_crashes.py) and the soak (soak.py): a kill aimed at extract lands after a
number of API requests, one aimed at normalize or load after a random delay once its package appears.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.robustness.support import (
    RESOURCES,
    assert_cursors_behind_loaded_data,
    committed_state,
    cursors,
    kill_when,
    local_state,
    pipelines_dir,
    start_cli,
)
from tests.source.conftest import Harness

PHASES = ("extract", "normalize", "load")
NORMALIZE_SECONDS, LOAD_SECONDS = 0.05, 0.4
"""Roughly how long an incremental run's normalize and load last here: kills land within them."""
STAGES = {
    "extracted": ("normalize", "extracted"),
    "normalized": ("load", "normalized"),
    "loaded": ("load", "loaded"),
}
"""Load package stage -> its folder in the pipeline's working directory."""
LOAD_ID = re.compile(r"\d+\.\d+")
"""A package folder's name; a kill can leave half-saved temporary files beside them."""


@dataclass
class Kill:
    """Where a SIGKILL landed, read from the pipeline's folders once the process is dead."""

    phase: str
    detail: str


def packages(harness: Harness, stage: str) -> set[str]:
    """Ids of the load packages in `stage`: "extracted" (to normalize), "normalized" (to load), "loaded"."""
    folder = pipelines_dir(harness).joinpath(harness.pipeline_name, *STAGES[stage])
    entries = folder.iterdir() if folder.exists() else ()
    return {entry.name for entry in entries if entry.is_dir() and LOAD_ID.fullmatch(entry.name)}


def pending(harness: Harness) -> set[str]:
    return packages(harness, "extracted") | packages(harness, "normalized")


def package_path(harness: Harness, stage: str, load_id: str) -> Path:
    return pipelines_dir(harness).joinpath(harness.pipeline_name, *STAGES[stage], load_id)


def landed(harness: Harness, requests_made: int, loaded_before: set[str]) -> Kill:
    if normalized := sorted(packages(harness, "normalized")):
        jobs = package_path(harness, "normalized", normalized[0])
        done = len(list((jobs / "completed_jobs").iterdir()))
        total = done + sum(len(list((jobs / folder).iterdir())) for folder in ("new_jobs", "started_jobs"))
        return Kill("load", f"{done}/{total} jobs completed")
    if packages(harness, "extracted"):
        return Kill("normalize", "extracted package not yet normalized")
    if packages(harness, "loaded") - loaded_before:
        return Kill("after load", "the package was loaded")
    return Kill("extract", f"after {requests_made} requests")


def trigger_for(harness: Harness, target: str, rng: random.Random) -> tuple[Callable[[], bool], float]:
    """When to kill for `target`: a condition to wait for, then a random delay.

    Normalize and load are recognised by a package of this run reaching their stage: one an earlier
    killed run left there does not count.
    """
    if target == "extract":
        start, after = harness.server.request_count, rng.randint(2, 16)
        return (lambda: harness.server.request_count - start >= after), 0.0
    stage = "extracted" if target == "normalize" else "normalized"
    delay = rng.uniform(0.0, NORMALIZE_SECONDS if target == "normalize" else LOAD_SECONDS)
    left_before = packages(harness, stage)
    return (lambda: bool(packages(harness, stage) - left_before)), delay


def kill_cli_when(
    harness: Harness,
    condition: Callable[[], bool],
    delay: float,
    resources: Iterable[str] = RESOURCES,
    env: Mapping[str, str] | None = None,
    extra_args: Iterable[str] = (),
) -> Kill:
    """Starts a CLI run and SIGKILLs it `delay` seconds after `condition` holds; where the kill landed."""
    loaded_before, start = packages(harness, "loaded"), harness.server.request_count
    process = start_cli(harness, resources, env, extra_args)
    if not kill_when(process, condition, delay):
        return Kill("finished", f"exit status {process.returncode}")
    return landed(harness, harness.server.request_count - start, loaded_before)


def kill_during(harness: Harness, target: str, rng: random.Random) -> Kill:
    condition, delay = trigger_for(harness, target, rng)
    return kill_cli_when(harness, condition, delay)


def assert_cursors_safe_after_kill(harness: Harness, owners: Mapping[str, str] | None = None) -> None:
    """The committed cursor never passes unloaded data; a local cursor ahead of it has a package to load."""
    committed = cursors(committed_state(harness), owners)
    assert_cursors_behind_loaded_data(harness, committed)
    local = cursors(local_state(harness), owners)
    ahead = {table for table, value in local.items() if value > committed.get(table, 0)}
    if ahead:
        assert pending(harness), (
            f"local cursors of {sorted(ahead)} are ahead of the destination with nothing left to load"
        )
