"""The library path as a user's own project runs it, for `benchmarks/run.py --only library`.

    SOURCES__INTERCOM__ACCESS_TOKEN=... SOURCES__INTERCOM__BASE_URL=http://127.0.0.1:PORT \\
        python benchmarks/library_load.py --workdir DIR

`run.py` starts it with a fresh empty temp dir as the working directory, so the repository's
`.dlt/config.toml` does not apply, and with the token and base URL only in the environment: nothing is
passed to `intercom_source()` or `pipeline.run()`, no loader file format, no allocator setting. The DuckDB
file and the pipelines dir are in `--workdir`; `run.py` counts the loaded rows in the DuckDB file afterwards.
The package is imported as installed (`pip install -e .`), not from a path set here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PIPELINE_NAME = "intercom_library"
DATASET = "intercom_library"
DUCKDB_FILE = "library.duckdb"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pipeline.run(intercom_source()) as a user runs it")
    parser.add_argument("--workdir", type=Path, required=True, help="the DuckDB file and the pipelines dir")
    workdir = parser.parse_args(argv).workdir

    import dlt

    from sources.intercom import intercom_source

    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.duckdb(str(workdir / DUCKDB_FILE)),
        dataset_name=DATASET,
        pipelines_dir=str(workdir / "pipelines"),
    )
    pipeline.run(intercom_source().with_resources("contacts"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
