"""kill -9 during extract, normalize and load, then the next scheduled run: the destination ends exact.

The simulator runs in this process; every pipeline run is the CLI in a child process, killed with SIGKILL
at a seeded random moment of the phase it targets. After each kill the cursors are checked against what
the destination really holds; then the workspace changes and one CLI run must bring the destination to
the workspace exactly, with the committed and local cursors on the newest change.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.robustness.kills import (
    PHASES,
    Kill,
    assert_cursors_safe_after_kill,
    kill_during,
    package_path,
    packages,
)
from tests.robustness.support import (
    MakeHarness,
    assert_cursors_at_truth,
    assert_cursors_behind_loaded_data,
    assert_matches_workspace,
    cli_env,
    committed_state,
    cursors,
    harness_args,
    mutate,
    pipelines_dir,
    run_cli,
)
from tests.source.conftest import Harness

KILLS_PER_PHASE = 3
CRASH_WORKSPACE = {"contacts": 150, "companies": 30, "conversations": 40}
SIM_KNOBS = {"latency_ms": 5, "scroll_ttl_seconds": 0.3}
"""Latency makes extract last long enough to be hit; a scroll left open by a kill expires before the rerun."""
DIE_AFTER_COMMIT = Path(__file__).with_name("die_after_commit.py")
DIE_MID_NORMALIZE_CLEANUP = Path(__file__).with_name("die_mid_normalize_cleanup.py")


def run_and_assert_exact(harness: Harness) -> None:
    completed = run_cli(harness_args(harness), cwd=harness.tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert_matches_workspace(harness)
    assert_cursors_at_truth(harness)


def test_kill_9_in_every_phase_then_the_next_run_is_exact(make_harness: MakeHarness) -> None:
    harness = make_harness(CRASH_WORKSPACE, **SIM_KNOBS)
    rng = random.Random(20261001)
    kills: list[Kill] = []
    for target in PHASES * KILLS_PER_PHASE:
        mutate(harness, rng)
        kills.append(kill_during(harness, target, rng))
        print(f"kill {len(kills)}, aimed at {target}: {kills[-1]}")
        assert_cursors_safe_after_kill(harness)
        mutate(harness, rng)
        run_and_assert_exact(harness)
    reached = Counter(kill.phase for kill in kills)
    print("\n[kills] " + "; ".join(f"{kill.phase}: {kill.detail}" for kill in kills))
    assert all(reached[phase] >= 2 for phase in PHASES), reached


def test_a_fresh_runner_after_a_kill_mid_load_restores_a_safe_cursor(make_harness: MakeHarness) -> None:
    """The local pipeline folder is lost with the killed container: the destination's state must suffice."""
    harness = make_harness(CRASH_WORKSPACE, **SIM_KNOBS)
    rng = random.Random(7)
    run_and_assert_exact(harness)
    kills: list[Kill] = []
    for _ in range(2):
        mutate(harness, rng)
        kills.append(kill_during(harness, "load", rng))
        assert_cursors_behind_loaded_data(harness, cursors(committed_state(harness)))
        shutil.rmtree(pipelines_dir(harness))
        mutate(harness, rng)
        run_and_assert_exact(harness)
    print("\n[fresh runner kills] " + "; ".join(f"{kill.phase}: {kill.detail}" for kill in kills))
    assert [kill.phase for kill in kills] == ["load", "load"]


@pytest.mark.parametrize("table", ["conversations", "companies"])
def test_a_kill_right_after_the_destination_committed_a_job_loads_nothing_twice(
    make_harness: MakeHarness, table: str
) -> None:
    """The job loading `table` (it has child tables) is committed, dlt has not recorded it: SIGKILL."""
    harness = make_harness(CRASH_WORKSPACE, **SIM_KNOBS)
    rng = random.Random(3)
    run_and_assert_exact(harness)
    mutate(harness, rng)
    run_killed(harness, DIE_AFTER_COMMIT, table)
    [load_id] = packages(harness, "normalized")
    package = package_path(harness, "normalized", load_id)
    unrecorded = [
        job.name
        for job in (package / "started_jobs").glob(f"{table}.*.parquet")
        if not (package / ".pending_transitions" / job.name).exists()
    ]
    assert unrecorded, f"the {table} job is committed, but dlt does not know"
    assert_cursors_safe_after_kill(harness)
    mutate(harness, rng)
    run_and_assert_exact(harness)


def test_a_kill_while_dlt_deletes_a_normalized_package_s_extracted_copy_blocks_no_later_run(
    make_harness: MakeHarness,
) -> None:
    """The extracted package dlt had normalized is left half deleted beside its normalized copy: SIGKILL.

    dlt alone would normalize the leftover again on every later run and fail each time (issue #14's flake
    of `test_kill_9_in_every_phase...`: a kill aimed at load landed there). The next run removes it, loads
    the normalized package and the new changes, and ends exact.
    """
    harness = make_harness(CRASH_WORKSPACE, **SIM_KNOBS)
    rng = random.Random(5)
    run_and_assert_exact(harness)
    mutate(harness, rng)
    run_killed(harness, DIE_MID_NORMALIZE_CLEANUP)
    [load_id] = packages(harness, "normalized")
    assert packages(harness, "extracted") == {load_id}, "the extracted copy is left beside the normalized one"
    assert_cursors_safe_after_kill(harness)
    mutate(harness, rng)
    run_and_assert_exact(harness)
    assert not packages(harness, "extracted") and not packages(harness, "normalized")


def run_killed(harness: Harness, script: Path, *args: str) -> None:
    """Runs a script that loads the harness's resources and SIGKILLs itself at its chosen moment."""
    killed = subprocess.run(
        [sys.executable, str(script), *args, *harness_args(harness)],
        cwd=harness.tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
