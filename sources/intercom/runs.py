"""Running the source: what the CLI does around `pipeline.run`, for library users too.

    import dlt
    from sources.intercom import finish_interrupted_loads, intercom_source, table_row_counts

    pipeline = dlt.pipeline("intercom", destination="duckdb", dataset_name="intercom_data")
    finish_interrupted_loads(pipeline)      # before every scheduled run
    pipeline.run(intercom_source())
    print(table_row_counts(pipeline))
"""

from __future__ import annotations

import dlt
from dlt.common import logger


def finish_interrupted_loads(pipeline: dlt.Pipeline) -> None:
    """Settles what a killed or failed earlier run left, so that this run also loads the new changes.

    Call it before `pipeline.run(intercom_source())` on a schedule. dlt's `run()` would load a pending
    package and stop, leaving every change made since for the run after. A package cut off while a load
    job ran is aborted instead of resumed: the destination may have committed that job, and dlt would run
    it again, loading its rows twice (merged tables with child tables keep both copies). Aborting rewinds
    the local state to before the package, so the extract that follows reads those changes again.
    """
    if not pipeline.has_pending_data:
        return
    plan = pipeline.abort_packages(dry_run=True)
    interrupted = plan["package_to_abort"] if plan else None
    if interrupted and interrupted["interrupted_jobs"]:
        logger.warning("an earlier run was cut off while loading; its changes are read again")
        pipeline.abort_packages()
    if pipeline.has_pending_data:
        logger.warning("loading what an earlier run left pending, then the new changes")
        pipeline.run()


def table_row_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per data table of the pipeline's schema, as the destination holds them."""
    counts: dict[str, int] = {}
    schema = pipeline.default_schema
    with pipeline.sql_client() as client:
        for table in sorted(schema.data_table_names()):
            if not schema.tables[table].get("columns"):
                continue
            rows = client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name(table)}")
            counts[table] = int(rows[0][0])
    return counts
