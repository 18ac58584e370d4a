"""Analytics models: plain SQL SELECTs over the loaded tables, created as views (or tables) after each load.

    from sources.intercom import build_models
    pipeline.run(intercom_source())
    report = build_models(pipeline)          # views; build_models(pipeline, materialization="table")
    print(report.built, report.left_out)

Each model is one `.sql` file under `models/<layer>/`, one SELECT written once in DuckDB's dialect, with its
grain in a `-- grain:` header line. A model reads loaded tables and other models by bare name; the dependency
order comes from those names. For another destination the SELECT is transpiled with sqlglot (dlt depends on
it), so the same files run on DuckDB and PostgreSQL (both tested) and render for BigQuery and Snowflake.

Tables that a run did not load leave the models that need them out, with a note in the report. Tables that
dlt creates only with their first row (child lists such as `conversations__tags`) or that a workspace may
have empty (teams, tags, memberships) stand in as empty relations with the same columns, so one untagged
workspace does not lose its conversation metrics. In history mode (scd2) the staging models read only the
current version of each row (`_dlt_valid_to IS NULL`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
import sqlglot
from dlt.common import logger
from sqlglot import exp

from . import settings
from .destinations import destination_kind
from .errors import ConfigurationError

MODELS_DIR = Path(__file__).parent / "models"
LAYERS = ("staging", "intermediate", "marts")
SOURCE_DIALECT = "duckdb"
MATERIALIZATIONS = ("view", "table")
VALID_TO_COLUMN = "_dlt_valid_to"  # dlt's scd2 default: the current version has it null

# Tables that may be absent from a dataset that loaded their resource: dlt creates a table with its first row.
MAY_BE_EMPTY = frozenset(
    {
        "conversations__tags",
        "conversations__contacts",
        "companies__tags",
        "teams",
        "teams__admin_ids",
        "tags",
        "contact_tags",
        "contact_companies",
    }
)

# dlt destination type -> sqlglot dialect of its SQL
DIALECTS = {
    "duckdb": "duckdb",
    "motherduck": "duckdb",
    "postgres": "postgres",
    "redshift": "redshift",
    "bigquery": "bigquery",
    "snowflake": "snowflake",
    "databricks": "databricks",
    "mssql": "tsql",
    "synapse": "tsql",
    "athena": "athena",
    "clickhouse": "clickhouse",
    "dremio": "dremio",
}

# Destinations whose views bind to the tables they read: a view there blocks DROP TABLE (a full refresh, a
# replace by dropping), so the CLI drops the views before such loads and builds them again after.
VIEWS_BLOCK_DROPS = frozenset({"postgres", "redshift", "mssql", "synapse"})


@dataclass(frozen=True)
class Model:
    """One `.sql` file: its name, layer, grain and what it reads."""

    name: str
    layer: str
    grain: str
    sql: str
    models: frozenset[str]
    tables: frozenset[str]

    @property
    def select(self) -> exp.Expression:
        return sqlglot.parse_one(self.sql, read=SOURCE_DIALECT)


@dataclass
class ModelsReport:
    """What `build_models` created, and what it left out and why."""

    materialization: str
    built: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)
    missing_tables: set[str] = field(default_factory=set)
    """The loaded tables whose absence left models out."""

    def summary(self) -> str:
        line = f"{len(self.built)} analytics models built as {self.materialization}s"
        if self.left_out:
            missing = ", ".join(sorted(self.missing_tables))
            line += f"; {len(self.left_out)} left out, their tables not loaded: {missing}"
        return line


@functools.cache
def model_catalogue() -> tuple[Model, ...]:
    """Every model, each after the models it reads."""
    files = {
        path.stem: (layer, path) for layer in LAYERS for path in sorted((MODELS_DIR / layer).glob("*.sql"))
    }
    parsed = {name: _parse_model(name, layer, path, set(files)) for name, (layer, path) in files.items()}
    return tuple(_dependency_order(parsed))


def model_tables() -> frozenset[str]:
    """Every loaded table a model reads."""
    return frozenset(table for model in model_catalogue() for table in model.tables)


def model_resources() -> tuple[str, ...]:
    """The source's resources whose tables the models read (a child table comes with its parent's)."""
    return tuple(sorted(table for table in model_tables() if "__" not in table))


def _parse_model(name: str, layer: str, path: Path, model_names: set[str]) -> Model:
    sql = path.read_text()
    grain = re.search(r"^-- grain: (.+)$", sql, re.MULTILINE)
    if not grain:
        raise ValueError(f"{path.name} has no '-- grain:' header line")
    select = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    ctes = {cte.alias for cte in select.find_all(exp.CTE)}
    names = {table.name for table in select.find_all(exp.Table)} - ctes
    return Model(
        name, layer, grain.group(1), sql, frozenset(names & model_names), frozenset(names - model_names)
    )


def _dependency_order(models: dict[str, Model]) -> list[Model]:
    ordered: list[Model] = []
    placed: set[str] = set()

    def place(model: Model, seen: tuple[str, ...]) -> None:
        if model.name in placed:
            return
        if model.name in seen:
            raise ValueError(f"models read each other in a cycle: {' -> '.join((*seen, model.name))}")
        for dependency in sorted(model.models):
            place(models[dependency], (*seen, model.name))
        placed.add(model.name)
        ordered.append(model)

    for model in models.values():
        place(model, ())
    return ordered


def dialect_of(destination_type: str) -> str:
    """The sqlglot dialect of a dlt destination type (`dlt.destinations.postgres` or `postgres`)."""
    short = destination_kind(destination_type)
    if short not in DIALECTS:
        raise ConfigurationError(
            f"Analytics models have no SQL dialect for destination '{short}'; run with --no-models "
            f"(supported: {', '.join(sorted(DIALECTS))})."
        )
    return DIALECTS[short]


def render(
    model: Model,
    dialect: str,
    dataset: str | None = None,
    *,
    empty_tables: Iterable[str] = (),
    scd2_tables: Iterable[str] = (),
) -> str:
    """The model's SELECT for `dialect`, its tables and models qualified with `dataset`.

    `empty_tables` stand in as empty relations (the staging model keeps its columns and types, and reads no
    rows); `scd2_tables` are read at their current versions only."""
    select = model.select
    if model.tables & set(empty_tables):
        select = _empty(select)
    current_only = set(scd2_tables)
    for table in select.find_all(exp.Table):
        if table.name in current_only and isinstance(table.parent, exp.From):
            alias = table.alias_or_name
            select = select.where(exp.column(VALID_TO_COLUMN, table=alias).is_(exp.null()))
    if dataset:
        for table in select.find_all(exp.Table):
            if table.name in model.tables or table.name in model.models:
                table.set("db", exp.to_identifier(dataset))
    if dialect == "bigquery":
        select = select.transform(_bigquery_functions)
    return select.sql(dialect=dialect)


def _empty(select: exp.Expression) -> exp.Expression:
    """The staging SELECT with every column read as NULL and no FROM: same names and CASTs, zero rows."""
    if select.find(exp.Join) or select.find(exp.CTE):
        raise ValueError("only a single-table staging model can stand in empty")
    select = select.transform(lambda node: exp.null() if isinstance(node, exp.Column) else node)
    select.set("from_", None)
    return select.where(exp.false())


def _bigquery_functions(node: exp.Expression) -> exp.Expression:
    """BigQuery has no aggregate median and no EPOCH(): approximate quantiles and UNIX_MICROS instead."""
    if isinstance(node, exp.Median):
        quantiles = exp.Anonymous(this="APPROX_QUANTILES", expressions=[node.this, exp.Literal.number(2)])
        return exp.Bracket(
            this=quantiles, expressions=[exp.Anonymous(this="OFFSET", expressions=[exp.Literal.number(1)])]
        )
    if isinstance(node, exp.TimeToUnix):
        micros = exp.Anonymous(this="UNIX_MICROS", expressions=[node.this])
        return exp.Div(this=micros, expression=exp.Literal.number(1_000_000))
    return node


def build_models(pipeline: dlt.Pipeline, materialization: str = "view") -> ModelsReport:
    """Creates the analytics models in the pipeline's dataset, replacing those of an earlier build.

    Run it after each load (the CLI does). `materialization` is "view" (always current, nothing stored) or
    "table" (computed now, fast to query). Models whose tables were not loaded are left out, with the reason
    in the returned report and a log line."""
    if materialization not in MATERIALIZATIONS:
        raise ConfigurationError(
            f"materialization must be one of {', '.join(MATERIALIZATIONS)}, not {materialization!r}."
        )
    report = ModelsReport(materialization)
    dialect = dialect_of(pipeline.destination.destination_type)
    with pipeline.sql_client() as client:
        dataset = client.dataset_name
        tables = _loaded_tables(pipeline)  # before the memory is raised: a new connection resets it
        plan = _plan(tables, report)
        absent = model_tables() - set(tables)
        scd2_tables = {name for name, columns in tables.items() if VALID_TO_COLUMN in columns}
        kind = "VIEW" if materialization == "view" else "TABLE"
        with _room_to_build(client, dialect), client.begin_transaction():
            _drop(client, dataset, reversed(model_catalogue()))
            for model in plan:
                sql = render(model, dialect, dataset, empty_tables=absent, scd2_tables=scd2_tables)
                client.execute_sql(f"CREATE {kind} {_qualified(dataset, model.name)} AS {sql}")
                report.built.append(model.name)
    for name, why in report.left_out.items():
        logger.info(f"analytics model {name} left out: {why}")
    return report


@contextmanager
def _room_to_build(client: Any, dialect: str) -> Iterator[None]:
    """DuckDB with at least `MODELS_DUCKDB_MEMORY_LIMIT` while the models are built, then as it was.

    The load caps DuckDB's memory (.dlt/config.toml) to bound the merge's peak; a model such as
    `intercom__contact_enhanced` at 200,000 contacts needs more than that cap to compute in one query."""
    if dialect != "duckdb":
        yield
        return
    before = str(client.execute_sql("SELECT current_setting('memory_limit')")[0][0])
    if _bytes(before) >= _bytes(settings.MODELS_DUCKDB_MEMORY_LIMIT):
        yield
        return
    client.execute_sql(f"SET memory_limit = '{settings.MODELS_DUCKDB_MEMORY_LIMIT}'")
    try:
        yield
    finally:
        client.execute_sql(f"SET memory_limit = '{before}'")


def _bytes(size: str) -> float:
    """'61.0 MiB', '1GB' -> bytes (DuckDB's memory settings)."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?)(i?)B\s*", size, re.IGNORECASE)
    if not match:
        return float("inf")  # unknown form (e.g. no limit): leave it alone
    number, prefix, binary = match.groups()
    base = 1024 if binary else 1000
    return float(number) * base ** " KMGT".index(prefix.upper() or " ")


def drop_models(pipeline: dlt.Pipeline) -> None:
    """Drops the analytics models from the pipeline's dataset (`build_models` creates them again)."""
    with pipeline.sql_client() as client, client.begin_transaction():
        _drop(client, client.dataset_name, reversed(model_catalogue()))


def views_block_drops(pipeline: dlt.Pipeline) -> bool:
    """True where a view keeps dlt from dropping the tables it reads (PostgreSQL and its kin)."""
    return destination_kind(pipeline.destination.destination_type) in VIEWS_BLOCK_DROPS


def _plan(tables: dict[str, set[str]], report: ModelsReport) -> list[Model]:
    """The models to build, in order; those missing a loaded table (or a model left out) go to the report."""
    plan: list[Model] = []
    for model in model_catalogue():
        missing = sorted(model.tables - set(tables) - MAY_BE_EMPTY)
        skipped = sorted(model.models & set(report.left_out))
        if missing:
            report.left_out[model.name] = f"table {', '.join(missing)} not loaded"
            report.missing_tables.update(missing)
        elif skipped:
            report.left_out[model.name] = f"needs {', '.join(skipped)}"
        else:
            plan.append(model)
    return plan


def _loaded_tables(pipeline: dlt.Pipeline) -> dict[str, set[str]]:
    """The source tables the models read that exist in the destination, with their column names."""
    with pipeline.destination_client() as job_client:
        storage = job_client.get_storage_tables(sorted(model_tables()))  # type: ignore[attr-defined]
        return {name: {column.lower() for column in columns} for name, columns in storage if columns}


def _drop(client: object, dataset: str, models: Iterable[Model]) -> None:
    """Drops whichever of the models exist, as the kind of object each one is (a view or a table)."""
    kinds = _existing_relations(client, dataset)
    for model in models:
        kind = kinds.get(model.name)
        if kind:
            client.execute_sql(f"DROP {kind} IF EXISTS {_qualified(dataset, model.name)}")  # type: ignore[attr-defined]


def _existing_relations(client: object, dataset: str) -> dict[str, str]:
    rows = client.execute_sql(  # type: ignore[attr-defined]
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = %s", dataset
    )
    return {
        str(name).lower(): ("VIEW" if "VIEW" in str(kind).upper() else "TABLE") for name, kind in rows or []
    }


def _qualified(dataset: str, name: str) -> str:
    return f"{dataset}.{name}"
