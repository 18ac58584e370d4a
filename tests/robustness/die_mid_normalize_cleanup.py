"""Runs the pipeline CLI and SIGKILLs it while dlt deletes an extracted package it has just normalized:
the normalized package is in place, the extracted one has lost its schema and half its job files.

    python tests/robustness/die_mid_normalize_cleanup.py [CLI arguments...]

A kill aimed at the start of load lands in that window now and then (dlt deletes the files one by one);
this makes it certain.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
from pathlib import Path

from dlt.common.storages.load_package import PackageStorage

CLI = Path(__file__).resolve().parents[2] / "pipelines" / "intercom_pipeline.py"


def die_while_deleting_extracted_packages() -> None:
    delete = PackageStorage.delete_package

    def delete_half_then_die(storage: PackageStorage, load_id: str, not_exists_ok: bool = False) -> None:
        package = Path(storage.storage.make_full_path(storage.get_package_path(load_id)))
        if package.parent.name == "extracted" and package.is_dir():
            (package / "schema.json").unlink()
            jobs = sorted((package / "new_jobs").iterdir())
            for job in jobs[: len(jobs) // 2]:
                job.unlink()
            os.kill(os.getpid(), signal.SIGKILL)
        delete(storage, load_id, not_exists_ok)

    PackageStorage.delete_package = delete_half_then_die  # type: ignore[method-assign]


if __name__ == "__main__":
    die_while_deleting_extracted_packages()
    sys.argv = [str(CLI), *sys.argv[1:]]
    runpy.run_path(str(CLI), run_name="__main__")
