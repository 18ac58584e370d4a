"""The chaos soak in CI: 8 scheduled runs against one changing workspace (soak.py), every completed run exact.

Seed 1 gives two kills (aimed at load and at extract), three 429 bursts and transient faults in every run;
`python -m tests.robustness.soak --runs 30 --seed N` is the long version. `pytest -s` shows one line per run.
"""

from __future__ import annotations

from pathlib import Path

from tests.robustness.soak import soak, soak_harness

CI_RUNS, CI_SEED = 8, 1


def test_scheduled_runs_under_faults_kills_and_changes_stay_exact(tmp_path: Path) -> None:
    harness = soak_harness(tmp_path, CI_SEED)
    try:
        report = soak(harness, CI_RUNS, CI_SEED)
    finally:
        harness.server.stop()
    totals = report.totals()
    print(f"\n[soak] seed {CI_SEED}: {totals}")
    assert totals["completed and exact"] + totals["killed"] == CI_RUNS
    assert totals["killed"] >= 1, "a kill landed before its run ended"
    assert len(totals["faults injected"]) >= 4, "faults of most kinds were injected"
    assert totals["429s"] >= 1, "a 429 burst met the connector"
    assert report.runs[-1].outcome == "exact"
