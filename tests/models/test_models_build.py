"""How the models are built: other dialects, missing tables, materializations, full refresh on PostgreSQL,
the CLI after an incremental load, and invariants on a generated workspace."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
import sqlglot

import intercom_sim
from sources.intercom import build_models, drop_models
from sources.intercom.models import MAY_BE_EMPTY, dialect_of, model_catalogue, render
from sources.intercom.runs import load
from tests.models import fixture
from tests.models.conftest import (
    DATASET,
    MART_KEYS,
    RESOURCES,
    TOKEN,
    ModelsWorld,
    mart_names,
    read_mart,
    source,
)
from tests.robustness.support import cli_command, cli_env


def duckdb_pipeline(tmp_path: Path, name: str) -> dlt.Pipeline:
    return dlt.pipeline(
        name,
        destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
        dataset_name=DATASET,
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def relations(path: Path) -> dict[str, str]:
    with duckdb.connect(str(path), read_only=True) as connection:
        rows = connection.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = ?", [DATASET]
        ).fetchall()
    return {name: kind for name, kind in rows if name.startswith(("intercom__", "stg_", "int_"))}


# ------------------------------------------------------------------------------------------------ the SQL


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake", "postgres", "duckdb"])
def test_every_model_transpiles_to_sql_that_parses_in_the_dialect(dialect: str) -> None:
    for model in model_catalogue():
        variants = [render(model, dialect, "analytics")]
        if model.tables & MAY_BE_EMPTY:
            variants.append(render(model, dialect, "analytics", empty_tables=model.tables))
        if model.tables & {"contacts", "companies", "conversations"}:
            variants.append(render(model, dialect, "analytics", scd2_tables=model.tables))
        for sql in variants:
            parsed = sqlglot.parse_one(sql, read=dialect)
            assert isinstance(parsed, sqlglot.exp.Query), (model.name, sql)


def test_bigquery_gets_an_aggregate_median_and_unix_seconds() -> None:
    sql = render(next(m for m in model_catalogue() if m.name == "intercom__admin_metrics"), "bigquery")
    assert "APPROX_QUANTILES(" in sql and "MEDIAN(" not in sql.upper().replace("APPROX_QUANTILES", "")
    metrics = render(
        next(m for m in model_catalogue() if m.name == "intercom__conversation_metrics"), "bigquery"
    )
    assert "UNIX_MICROS(" in metrics and "TIME_TO_UNIX" not in metrics


def test_models_are_layered_with_a_grain_each() -> None:
    layers = {model.name: model.layer for model in model_catalogue()}
    for model in model_catalogue():
        assert model.grain.startswith("one row per"), model.name
        if model.layer == "staging":
            assert model.models == frozenset() and len(model.tables) == 1, model.name
        else:
            assert model.tables == frozenset(), f"{model.name} reads a loaded table: {model.tables}"
            assert all(layers[used] != "marts" or model.layer == "marts" for used in model.models)
    assert set(MART_KEYS) == set(mart_names())


def test_an_unknown_destination_dialect_is_a_clear_error() -> None:
    with pytest.raises(Exception, match="no SQL dialect for destination 'weaviate'.*--no-models"):
        dialect_of("weaviate")


# ------------------------------------------------------------------------------------------------ building


def test_tables_not_loaded_leave_their_models_out_with_a_note(tmp_path: Path) -> None:
    workspace = intercom_sim.Workspace(seed=4, contacts=20, companies=5, conversations=5, tickets=0)
    server = intercom_sim.start(workspace, port=0, token=TOKEN, rate_limit=0)
    try:
        pipeline = duckdb_pipeline(tmp_path, "only_contacts")
        pipeline.run(source(server.base_url).with_resources("contacts", "contact_tags", "tags"))
        report = build_models(pipeline)
    finally:
        server.stop()
    assert "stg_intercom__contacts" in report.built and "stg_intercom__contact_tags" in report.built
    assert report.left_out["stg_intercom__conversations"] == "table conversations not loaded"
    assert report.left_out["intercom__conversation_metrics"].startswith("needs ")
    assert "intercom__contact_enhanced" in report.left_out  # it counts conversations
    assert set(relations(tmp_path / "only_contacts.duckdb")) == set(report.built)
    assert "left out: " in report.summary()


def test_a_workspace_without_teams_or_tags_still_gets_every_model(tmp_path: Path) -> None:
    workspace = intercom_sim.Workspace(
        seed=5, contacts=20, companies=5, conversations=8, tickets=0, teams=0, tags=0
    )
    server = intercom_sim.start(workspace, port=0, token=TOKEN, rate_limit=0)
    try:
        pipeline = duckdb_pipeline(tmp_path, "no_teams")
        pipeline.run(source(server.base_url).with_resources(*RESOURCES))
        report = build_models(pipeline)
        admins = read_mart(pipeline, "intercom__admin_metrics")
        conversations = read_mart(pipeline, "intercom__conversation_metrics")
    finally:
        server.stop()
    assert report.left_out == {}
    assert {row["team_names"] for row in admins.values()} == {None}
    assert len(conversations) == 8 and {row["tags"] for row in conversations.values()} == {None}
    assert read_mart(pipeline, "intercom__team_metrics") == {}


def test_tables_materialization_gives_the_same_rows_and_replaces_the_views(
    models_world: ModelsWorld, tmp_path: Path
) -> None:
    pipeline = models_world.pipelines["duckdb"]
    views = {mart: read_mart(pipeline, mart) for mart in mart_names()}
    try:
        report = build_models(pipeline, "table")
        assert report.materialization == "table" and report.left_out == {}
        assert {mart: read_mart(pipeline, mart) for mart in mart_names()} == views
        with pipeline.sql_client() as client:
            kinds = dict(
                client.execute_sql(
                    "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = %s",
                    DATASET,
                )
            )
        assert {kinds[mart] for mart in mart_names()} == {"BASE TABLE"}
    finally:
        build_models(pipeline)  # the other tests read views


def test_views_survive_a_full_refresh_on_postgres(models_world: ModelsWorld) -> None:
    """A Postgres view blocks DROP TABLE; `load` drops the models around the refresh and builds them again."""
    pipeline = models_world.pipelines["postgres"]
    before = read_mart(pipeline, "intercom__conversation_metrics")
    result = load(
        pipeline, source(models_world.server.base_url).with_resources(*RESOURCES), full_refresh=True
    )
    assert result.models is not None and result.models.left_out == {}
    assert read_mart(pipeline, "intercom__conversation_metrics") == before


def test_drop_models_removes_every_model(tmp_path: Path) -> None:
    built = fixture.build()
    server = intercom_sim.start(built.workspace, port=0, token=TOKEN, rate_limit=0)
    try:
        pipeline = duckdb_pipeline(tmp_path, "dropped")
        pipeline.run(source(server.base_url).with_resources(*RESOURCES))
    finally:
        server.stop()
    build_models(pipeline)
    assert len(relations(tmp_path / "dropped.duckdb")) == len(model_catalogue())
    drop_models(pipeline)
    assert relations(tmp_path / "dropped.duckdb") == {}


# ------------------------------------------------------------------------------------------------ the CLI


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        cli_command(*args), cwd=cwd, env=cli_env(TOKEN), capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed


def test_the_cli_builds_the_models_after_every_load(tmp_path: Path) -> None:
    """Tables, so that the second run's figures can only come from a rebuild after that run's load."""
    built = fixture.build()
    ws, ids = built.workspace, built.ids
    server = intercom_sim.start(ws, port=0, token=TOKEN, rate_limit=0)
    database = tmp_path / "cli.duckdb"
    args = [
        "--base-url",
        server.base_url,
        "--resources",
        ",".join(RESOURCES),
        "--duckdb-file",
        str(database),
        "--dataset",
        DATASET,
        "--pipelines-dir",
        str(tmp_path / "pipelines"),
        "--models",
        "tables",
        "--progress",
        "none",
    ]
    try:
        first = run_cli(args, tmp_path)
        assert "22 analytics models built as tables" in first.stdout
        ws.clock.advance(600)
        v2 = ids["V2"]
        part = ws.add_conversation_part(v2, body="<p>done</p>", part_type="close")
        ws.conversations[v2]["conversation_parts"]["conversation_parts"][-1]["author"] = {
            "type": "admin",
            "id": ids["A2"],
            "name": "A2",
            "email": "",
        }
        ws.update_conversation(v2, state="closed", open=False, snoozed_until=None)
        run_cli(args, tmp_path)
    finally:
        server.stop()
    with duckdb.connect(str(database), read_only=True) as connection:
        connection.execute(f"SET schema '{DATASET}'")
        state, last_closed_by, parts = connection.execute(
            "SELECT state, last_closed_by_admin_id, count_parts FROM intercom__conversation_metrics"
            " WHERE conversation_id = ?",
            [v2],
        ).fetchone()
        closed_by_a2 = connection.execute(
            "SELECT count_conversations_closed FROM intercom__admin_metrics WHERE admin_id = ?", [ids["A2"]]
        ).fetchone()[0]
        backlog = connection.execute(
            "SELECT count_snoozed FROM intercom__team_metrics WHERE team_id = ?", [ids["Billing"]]
        ).fetchone()[0]
    assert part and (state, last_closed_by, parts) == ("closed", ids["A2"], 3)
    assert closed_by_a2 == 2 and backlog == 0
    assert set(relations(database).values()) == {"BASE TABLE"}


def test_the_cli_builds_no_models_with_no_models(tmp_path: Path) -> None:
    built = fixture.build()
    server = intercom_sim.start(built.workspace, port=0, token=TOKEN, rate_limit=0)
    database = tmp_path / "none.duckdb"
    try:
        completed = run_cli(
            [
                "--base-url",
                server.base_url,
                "--resources",
                "admins,teams",
                "--duckdb-file",
                str(database),
                "--dataset",
                DATASET,
                "--pipelines-dir",
                str(tmp_path / "pipelines"),
                "--no-models",
            ],
            tmp_path,
        )
    finally:
        server.stop()
    assert "analytics models" not in completed.stdout
    assert relations(database) == {}


# ------------------------------------------------------------------------------------------------ invariants


def test_invariants_hold_on_a_generated_workspace(tmp_path: Path) -> None:
    workspace = intercom_sim.Workspace(seed=3, contacts=150, companies=25, conversations=120, tickets=0)
    server = intercom_sim.start(workspace, port=0, token=TOKEN, rate_limit=0)
    try:
        pipeline = duckdb_pipeline(tmp_path, "generated")
        pipeline.run(source(server.base_url).with_resources(*RESOURCES))
    finally:
        server.stop()
    assert build_models(pipeline).left_out == {}
    marts = {mart: read_mart(pipeline, mart) for mart in mart_names()}  # read_mart: one row per key
    assert set(marts["intercom__conversation_metrics"]) == set(workspace.conversations)
    assert set(marts["intercom__contact_enhanced"]) == set(workspace.contacts)
    assert set(marts["intercom__company_metrics"]) == set(workspace.companies)
    assert marts["intercom__parts_completeness"], "the generator makes conversations over the 500-part cap"
    for mart, rows in marts.items():
        for row in rows.values():
            check_row_invariants(mart, row)


def check_row_invariants(mart: str, row: dict[str, Any]) -> None:
    for column, value in row.items():
        if value is None:
            continue
        if column.startswith(("minutes_to_", "median_minutes")) or column.endswith("_minutes"):
            assert value >= 0, (mart, column, row)
        if column == "csat":
            assert 0 <= value <= 1, (mart, row)
        if column.startswith("count_"):
            assert value >= 0, (mart, column, row)
    for first, last in (("first_close_at", "last_close_at"), ("first_admin_close_at", "last_admin_close_at")):
        if row.get(first) is not None:
            assert row[first] <= row[last], (mart, row)
    if mart == "intercom__conversation_metrics":
        assert row["count_parts"] <= 500
        if row["first_admin_close_at"] is not None:
            assert row["first_close_at"] <= row["first_admin_close_at"]
            assert row["last_admin_close_at"] <= row["last_close_at"]
    if mart == "intercom__daily_conversations":
        assert (
            row["count_customer_initiated"] + row["count_admin_initiated"] + row["count_automated"]
            == row["count_conversations"]
        )
        assert row["count_still_open"] <= row["count_conversations"]
