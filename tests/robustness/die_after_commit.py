"""Runs the pipeline CLI and SIGKILLs it at the worst moment of a load: right after the destination committed
the job loading `table`, before dlt recorded that the job finished.

    python tests/robustness/die_after_commit.py TABLE [CLI arguments...]

A random kill lands in that window too (it spans closing the DuckDB connection); this makes it certain.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
from pathlib import Path
from typing import Any

from dlt.common.destination.client import RunnableLoadJob

CLI = Path(__file__).resolve().parents[2] / "pipelines" / "intercom_pipeline.py"


def die_after_commit_of(table: str) -> None:
    release = RunnableLoadJob._release

    def release_or_die(job: RunnableLoadJob, next_state: Any) -> None:
        file_name = os.path.basename(job._file_path)
        if next_state == "completed" and file_name.startswith(f"{table}.") and file_name.endswith(".parquet"):
            os.kill(os.getpid(), signal.SIGKILL)
        release(job, next_state)

    RunnableLoadJob._release = release_or_die  # type: ignore[method-assign]


if __name__ == "__main__":
    die_after_commit_of(sys.argv[1])
    sys.argv = [str(CLI), *sys.argv[2:]]
    runpy.run_path(str(CLI), run_name="__main__")
