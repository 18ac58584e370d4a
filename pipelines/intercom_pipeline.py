"""Load an Intercom workspace into a dlt destination (DuckDB `intercom.duckdb` by default).

    python pipelines/intercom_pipeline.py --demo          # no token: a simulated workspace, loaded for real
    python pipelines/intercom_pipeline.py                 # token from SOURCES__INTERCOM__ACCESS_TOKEN
    python pipelines/intercom_pipeline.py --resources contacts,conversations --start-date 2024-01-01

Configuration and auth problems end with a one-line cause and a non-zero exit status before any pipeline
state is written: the token is checked with GET /me first.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.runtime.collector import NULL_COLLECTOR, Collector
from dlt.sources import DltSource

# Arrow buffers from the C allocator, which hands freed memory back, not jemalloc, which keeps it: peak RSS
# of a 50,000-contact load 326 -> 270 MB at the same speed (BENCHMARKS.md, (d)). Process-wide and read
# when pyarrow is first imported (by the source, below), so the CLI sets it for its own process.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

from sources.intercom import (  # noqa: E402
    AuthenticationError,
    ConfigurationError,
    IntercomError,
    intercom_source,
    settings,
)
from sources.intercom.allocator import limit_malloc_arenas  # noqa: E402
from sources.intercom.destinations import check_destination, pipeline_destination  # noqa: E402
from sources.intercom.models import dialect_of  # noqa: E402
from sources.intercom.runs import (  # noqa: E402
    ChunkProgress,
    LoadResult,
    check_access,
    load,
    select_resources,
)

PIPELINE_NAME = "intercom"
DEFAULT_DATASET = "intercom_data"
"""Differs from the database file's name: DuckDB 2 rejects `intercom.duckdb` holding a schema `intercom`."""
DEMO_DATASET = "intercom_demo"
DEMO_TOKEN = "demo-token"
DEMO_WORKSPACE = {"seed": 1, "contacts": 2000, "companies": 200, "conversations": 600, "tickets": 100}

EXIT_FAILED, EXIT_CONFIG, EXIT_AUTH, EXIT_PARTIAL = 1, 2, 3, 4
"""EXIT_PARTIAL: loaded and committed, but Intercom refused (403) some tables, which were skipped."""
PROGRESS_MODES = ("bar", "log", "none")

logger = logging.getLogger("intercom_pipeline")


RunResult = LoadResult
MODEL_MATERIALIZATIONS = {"views": "view", "tables": "table"}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Load an Intercom workspace with dlt.")
    parser.add_argument("--resources", help="comma-separated resource names (default: all selected)")
    parser.add_argument("--start-date", help="load objects updated at or after this ISO-8601 instant")
    parser.add_argument("--end-date", help="with --start-date: a bounded backfill up to this instant")
    parser.add_argument("--destination", default="duckdb", help="any dlt destination (default: duckdb)")
    parser.add_argument("--duckdb-file", default="intercom.duckdb", help="database file for duckdb")
    parser.add_argument("--dataset", help=f"dataset/schema name (default: {DEFAULT_DATASET})")
    parser.add_argument("--full-refresh", action="store_true", help="drop tables and state, reload all")
    parser.add_argument(
        "--models",
        choices=sorted(MODEL_MATERIALIZATIONS),
        default="views",
        help="build the analytics models after the load as views (default) or tables",
    )
    parser.add_argument("--no-models", action="store_true", help="build no analytics models")
    parser.add_argument(
        "--progress",
        choices=PROGRESS_MODES,
        help="bar: a live display of rows per table, API requests and rate-limit wait (default on a"
        " terminal); log: the same as log lines every 5 s (cron, CI); none",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--region", help="us, eu or au (default: config or us)")
    parser.add_argument("--base-url", help="override the API root (proxies, the simulator)")
    parser.add_argument("--max-workers", type=int, help="concurrent per-record fetches")
    parser.add_argument(
        "--data-events-scope",
        choices=("changed", "all"),
        help="data_events of contacts changed since the last run (default), or of all contacts",
    )
    parser.add_argument("--pipelines-dir", help="where dlt keeps pipeline state (default: dlt's)")
    parser.add_argument("--pipeline-name", default=None, help=f"default: {PIPELINE_NAME}")
    parser.add_argument(
        "--history",
        action="store_true",
        help="keep every version of contacts, companies and conversations (_dlt_valid_from/_dlt_valid_to)",
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        help="commit a long backfill in chunks of about this many rows of a feed, each resumable"
        f" (default: config chunk_rows or {settings.BACKFILL_CHUNK_ROWS:,}; 0: one load package)",
    )
    parser.add_argument("--demo", action="store_true", help="load a simulated workspace, no token needed")
    return parser.parse_args(argv)


def source_options(args: argparse.Namespace, access_token: str, base_url: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {"access_token": access_token, "start_date": args.start_date}
    options["end_date"] = args.end_date
    if args.region:
        options["region"] = args.region
    if base_url:
        options["base_url"] = base_url
    if args.max_workers:
        options["max_workers"] = args.max_workers
    if args.history:  # not given: the source's own default or SOURCES__INTERCOM__HISTORY
        options["history"] = True
    if args.data_events_scope:
        options["data_events_scope"] = args.data_events_scope
    if args.resources:  # named ones fail the run when Intercom refuses them; others are skipped
        options["required_resources"] = resource_names(args.resources)
    return options


def resource_names(listed: str) -> list[str]:
    return [name.strip() for name in listed.split(",") if name.strip()]


def build_source(args: argparse.Namespace, access_token: str, base_url: str | None) -> DltSource:
    """The source with the requested resources selected; bad input raises ConfigurationError."""
    if args.end_date and not args.start_date:
        raise ConfigurationError("--end-date needs --start-date: a bounded backfill has two ends.")
    source = intercom_source(**source_options(args, access_token, base_url))
    return select_resources(source, args.resources.split(",")) if args.resources else source


def resolve_access_token() -> str:
    token = dlt.secrets.get("sources.intercom.access_token")
    if not token:
        raise ConfigurationError(
            "No Intercom access token: set SOURCES__INTERCOM__ACCESS_TOKEN or access_token under"
            " [sources.intercom] in .dlt/secrets.toml, or try --demo."
        )
    return str(token)


def make_pipeline(args: argparse.Namespace, dataset: str, pipelines_dir: str | None) -> dlt.Pipeline:
    destination = pipeline_destination(args.destination, args.duckdb_file)
    return dlt.pipeline(
        pipeline_name=args.pipeline_name or PIPELINE_NAME,
        destination=destination,
        dataset_name=dataset,
        pipelines_dir=pipelines_dir,
        progress=progress_collector(args),
    )


def progress_collector(args: argparse.Namespace) -> Collector:
    """The live display on a terminal unless told otherwise; log lines with `--progress log`."""
    mode = "none" if args.quiet else args.progress or ("bar" if sys.stderr.isatty() else "none")
    if mode == "bar":
        return dlt.progress.tqdm(file=sys.stderr, dynamic_ncols=True)
    if mode == "log":  # psutil is not a dependency: no memory stats in the progress log
        return dlt.progress.log(log_period=5.0, logger=sys.stdout, dump_system_stats=False)
    return NULL_COLLECTOR


def checked_load(
    args: argparse.Namespace, access_token: str, base_url: str | None, dataset: str
) -> RunResult:
    """Input, destination and token checked before anything is created; then the package's `load`."""
    source = build_source(args, access_token, base_url)
    models = None if args.no_models else MODEL_MATERIALIZATIONS[args.models]
    check_destination(args.destination, args.duckdb_file, dataset)
    if models and args.destination != "filesystem":  # filesystem: the models are built in the DuckDB copy
        dialect_of(args.destination)
    check_access(access_token, args.region, base_url)
    pipeline = make_pipeline(args, dataset, args.pipelines_dir)
    return load(
        pipeline,
        source,
        full_refresh=args.full_refresh,
        destination=args.destination,
        models=models,
        chunk_rows=args.chunk_rows,
        on_chunk=None if args.quiet else print_chunk,
    )


def print_chunk(progress: ChunkProgress) -> None:
    print(progress.line(), flush=True)


@contextmanager
def demo_simulator() -> Iterator[str]:
    """A simulated workspace on loopback for --demo; yields its base URL."""
    import intercom_sim

    workspace = intercom_sim.Workspace(**DEMO_WORKSPACE)
    server = intercom_sim.start(workspace, port=0, token=DEMO_TOKEN, rate_limit=0, export_delay_seconds=0.1)
    try:
        yield server.base_url
    finally:
        server.stop()


def run(args: argparse.Namespace) -> RunResult:
    if not args.demo:
        return checked_load(args, resolve_access_token(), args.base_url, args.dataset or DEFAULT_DATASET)
    with demo_simulator() as base_url, tempfile.TemporaryDirectory(prefix="intercom_demo_") as scratch:
        args.pipelines_dir = args.pipelines_dir or scratch
        args.pipeline_name = args.pipeline_name or "intercom_demo"
        return checked_load(args, DEMO_TOKEN, base_url, args.dataset or DEMO_DATASET)


def print_summary(result: RunResult) -> None:
    pipeline = result.pipeline
    print(f"Loaded into {pipeline.destination.destination_name} dataset '{pipeline.dataset_name}':")
    width = max((len(name) for name in result.row_counts), default=10)
    for table, rows in result.row_counts.items():
        print(f"  {table:<{width}}  {rows:>10,}")
    if result.skipped:
        print("Skipped, Intercom refused them (403); grant the app these permissions:")
        for table, permission in result.skipped.items():
            print(f"  {table:<{width}}  {permission}")
    if result.models:
        print(result.models.summary())


def main(argv: Sequence[str] | None = None) -> int:
    limit_malloc_arenas()  # before any thread starts (allocator.py)
    args = parse_args(argv)
    level = logging.ERROR if args.quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = run(args)
    except ConfigurationError as exc:
        return fail(EXIT_CONFIG, f"configuration error: {exc}")
    except ConfigFieldMissingException as exc:
        return fail(EXIT_CONFIG, f"configuration error: missing {', '.join(exc.fields)}")
    except AuthenticationError as exc:
        return fail(EXIT_AUTH, f"authentication failed: {exc}")
    except Exception as exc:  # noqa: BLE001 - the CLI reports any failure as one line
        if isinstance(connector_error(exc), ConfigurationError):  # found during the run (history mode)
            return fail(EXIT_CONFIG, f"configuration error: {root_cause(exc)}")
        return fail(EXIT_FAILED, f"load failed: {root_cause(exc)}")
    if not args.quiet:
        print_summary(result)
    return EXIT_PARTIAL if result.skipped else 0


def root_cause(exc: BaseException) -> str:
    """The connector's own error inside dlt's wrappers if there is one, else the first line of `exc`,
    followed by the innermost error's when that line only announces it (dlt's "... with exception:")."""
    cause = connector_error(exc)
    if cause is not None:
        return str(cause)
    innermost = exc
    while (inner := innermost.__cause__ or innermost.__context__) is not None:
        innermost = inner
    line = first_line_of(exc)
    if line.endswith(":") and innermost is not exc:
        return f"{line} {type(innermost).__name__}: {first_line_of(innermost)}"
    return line


def connector_error(exc: BaseException) -> IntercomError | None:
    """The connector's own error inside dlt's wrappers, if there is one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, IntercomError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def first_line_of(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def fail(status: int, message: str) -> int:
    print(message.splitlines()[0] if message else "failed", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
