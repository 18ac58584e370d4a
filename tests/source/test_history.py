"""History mode: every version of contacts, companies and conversations, with validity columns (scd2)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from pipelines import intercom_pipeline
from sources.intercom import ConfigurationError
from tests.source.conftest import TOKEN, Harness

HISTORY = ("contacts", "companies", "conversations")


def versions(harness: Harness, table: str) -> dict[str, list[tuple[Any, Any]]]:
    """(valid_from, valid_to) of each id's versions, oldest first."""
    rows = harness.query(
        f"SELECT id, _dlt_valid_from, _dlt_valid_to FROM {table} ORDER BY id, _dlt_valid_from"
    )
    found: dict[str, list[tuple[Any, Any]]] = {}
    for row_id, valid_from, valid_to in rows:
        found.setdefault(row_id, []).append((valid_from, valid_to))
    return found


def current(harness: Harness, table: str, column: str) -> dict[str, Any]:
    rows = harness.query(f"SELECT id, {column} FROM {table} WHERE _dlt_valid_to IS NULL")
    return dict(rows)


def test_a_contact_changed_in_two_runs_has_three_contiguous_versions(harness: Harness) -> None:
    ws = harness.workspace
    harness.run(HISTORY, history=True)
    assert {len(v) for v in versions(harness, "contacts").values()} == {1}
    changed, untouched_contact = list(ws.contacts)[:2]
    company = next(iter(ws.companies))
    conversation = next(iter(ws.conversations))

    for name in ("First Rename", "Second Rename"):
        ws.clock.advance(7_200)
        ws.update_contact(changed, name=name)
        ws.update_company(company, name=f"{name} Co")
        ws.update_conversation(conversation, state="closed" if name == "First Rename" else "open")
        harness.run(HISTORY, history=True)

    contact_versions = versions(harness, "contacts")
    assert len(contact_versions[changed]) == 3
    (from1, to1), (from2, to2), (from3, to3) = contact_versions[changed]
    assert to1 == from2 and to2 == from3 and to3 is None
    assert from1 < from2 < from3
    names = harness.query(f"SELECT name FROM contacts WHERE id = '{changed}' ORDER BY _dlt_valid_from")
    assert [row[0] for row in names][1:] == ["First Rename", "Second Rename"]
    assert current(harness, "contacts", "name")[changed] == "Second Rename"
    assert len(versions(harness, "companies")[company]) == 3
    assert current(harness, "companies", "name")[company] == "Second Rename Co"
    assert len(versions(harness, "conversations")[conversation]) == 3
    # the README's point-in-time query: as loaded at the start of the second version
    at = versions(harness, "companies")[company][1][0].isoformat()
    as_of = harness.query(
        f"SELECT name FROM companies WHERE id = '{company}' AND _dlt_valid_from <= '{at}'"
        f" AND (_dlt_valid_to IS NULL OR _dlt_valid_to > '{at}')"
    )
    assert as_of == [("First Rename Co",)]
    assert current(harness, "conversations", "state")[conversation] == "open"

    # untouched rows keep their one version, current; every id has exactly one current version
    live_ids = {"contacts": ws.contacts, "companies": ws.companies, "conversations": ws.conversations}
    for table, live in live_ids.items():
        counts = Counter(row_id for row_id, spans in versions(harness, table).items() for _ in spans)
        touched = {changed, company, conversation}
        assert {counts[row_id] for row_id in live if row_id not in touched} == {1}, table
        assert set(current(harness, table, "id")) == set(live), table
    assert versions(harness, "contacts")[untouched_contact][0][1] is None


def row_counts(harness: Harness) -> dict[str, int]:
    tables = (
        *HISTORY,
        "contacts__social_profiles",
        "companies__tags",
        "conversations__tags",
        "conversations__contacts",
    )
    return {table: harness.query(f"SELECT count(*) FROM {table}")[0][0] for table in tables}


def test_rows_read_again_unchanged_make_no_new_version_on_either_path(harness: Harness) -> None:
    ws = harness.workspace
    harness.run(HISTORY, history=True)
    loaded = row_counts(harness)
    assert loaded["contacts"] == len(ws.contacts) and loaded["contacts__social_profiles"] > 0
    ids = dict(harness.query("SELECT id, _dlt_id FROM contacts"))

    # the lookback re-reads the newest rows; a bounded backfill re-reads every row, by Arrow and by rows
    ws.clock.advance(60)
    harness.run(HISTORY, history=True)
    everything = {"start_date": "2000-01-01", "end_date": "2100-01-01"}
    for arrow in (True, False):
        harness.run(HISTORY, history=True, arrow=arrow, **everything)
        reread = harness.pipeline().last_trace.last_normalize_info.row_counts
        assert reread["contacts"] >= len(ws.contacts) - 5 and reread["companies"] == len(ws.companies)
        assert reread["conversations"] >= len(ws.conversations) - 5

    assert row_counts(harness) == loaded
    assert dict(harness.query("SELECT id, _dlt_id FROM contacts")) == ids
    assert harness.query("SELECT count(*) FROM contacts WHERE _dlt_valid_to IS NOT NULL") == [(0,)]
    load_ids = harness.query("SELECT count(DISTINCT _dlt_load_id) FROM contacts")
    assert load_ids == [(1,)], "every row is still the version the first run loaded"


def test_a_changed_child_list_makes_a_version_with_its_own_children(harness: Harness) -> None:
    ws = harness.workspace
    harness.run(("contacts",), history=True)
    plain = next(cid for cid in ws.contacts if not ws.contacts[cid]["social_profiles"]["data"])
    profile = {"type": "social_profile", "name": "Twitter", "url": "https://twitter.com/someone"}
    ws.clock.advance(7_200)
    ws.update_contact(plain, social_profiles={"type": "list", "data": [profile]})
    harness.run(("contacts",), history=True)

    spans = versions(harness, "contacts")[plain]
    assert len(spans) == 2 and spans[1][1] is None
    children = harness.query(
        "SELECT c._dlt_valid_to IS NULL, p.url FROM contacts c"
        f" JOIN contacts__social_profiles p ON p._dlt_parent_id = c._dlt_id WHERE c.id = '{plain}'"
    )
    assert children == [(True, profile["url"])]
    orphans = harness.query(
        "SELECT count(*) FROM contacts__social_profiles"
        " WHERE _dlt_parent_id NOT IN (SELECT _dlt_id FROM contacts)"
    )
    assert orphans == [(0,)]


def test_reconcile_deletes_closes_the_current_version_of_a_deleted_contact(harness: Harness) -> None:
    ws = harness.workspace
    harness.run(("contacts", "companies"), history=True, reconcile_deletes=True)
    gone, kept = list(ws.contacts)[:2]
    gone_company = next(iter(ws.companies))
    email = ws.contacts[gone]["email"]
    ws.clock.advance(600)
    ws.delete_contact(gone)
    ws.delete_company(gone_company)
    harness.run(("contacts", "companies"), history=True, reconcile_deletes=True)

    [(valid_from, valid_to)] = versions(harness, "contacts")[gone]
    assert valid_to is not None and valid_to > valid_from
    assert gone not in current(harness, "contacts", "id")
    assert harness.query(f"SELECT email, deleted_at FROM contacts WHERE id = '{gone}'") == [(email, None)]
    [(_, company_valid_to)] = versions(harness, "companies")[gone_company]
    assert company_valid_to is not None
    assert set(current(harness, "contacts", "id")) == set(ws.contacts)
    assert set(current(harness, "companies", "id")) == set(ws.companies)
    assert versions(harness, "contacts")[kept][0][1] is None

    harness.run(("contacts", "companies"), history=True, reconcile_deletes=True)
    assert versions(harness, "contacts")[gone] == [(valid_from, valid_to)]


def cause_of(exc: BaseException) -> BaseException:
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, ConfigurationError):
        seen = seen.__cause__ or seen.__context__
    return seen or exc


@pytest.mark.parametrize("first, then", [(False, True), (True, False)])
def test_switching_an_existing_dataset_between_modes_fails_until_a_full_refresh(
    harness: Harness, first: bool, then: bool
) -> None:
    harness.run(("contacts",), history=first)
    with pytest.raises(Exception) as failed:
        harness.run(("contacts",), history=then)
    error = cause_of(failed.value)
    assert isinstance(error, ConfigurationError)
    assert "--full-refresh" in str(error) and len(str(error).splitlines()) == 1
    assert harness.query("SELECT count(*) FROM contacts") == [(len(harness.workspace.contacts),)]

    harness.pipeline().run(harness.source(("contacts",), history=then), refresh="drop_sources")
    columns = {
        row[0]
        for row in harness.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'contacts'"
        )
    }
    assert ("_dlt_valid_to" in columns) is then
    assert harness.query("SELECT count(*) FROM contacts") == [(len(harness.workspace.contacts),)]


def test_cli_history_flag_full_refresh_and_config(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOURCES__INTERCOM__ACCESS_TOKEN", TOKEN)
    base = [
        "--base-url", harness.server.base_url, "--resources", "contacts,companies",
        "--duckdb-file", str(harness.duckdb_path), "--dataset", "intercom_data",
        "--pipelines-dir", str(harness.tmp_path / "pipelines"), "--pipeline-name", harness.pipeline_name,
        "--quiet",
    ]  # fmt: skip
    assert intercom_pipeline.main(base) == 0
    capsys.readouterr()

    assert intercom_pipeline.main([*base, "--history"]) == intercom_pipeline.EXIT_CONFIG
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "history mode" in err and "--full-refresh" in err

    assert intercom_pipeline.main([*base, "--full-refresh", "--history"]) == 0
    assert harness.query("SELECT count(*) FROM contacts WHERE _dlt_valid_to IS NULL") == [
        (len(harness.workspace.contacts),)
    ]
    changed = next(iter(harness.workspace.contacts))
    harness.workspace.clock.advance(7_200)
    harness.workspace.update_contact(changed, name="Renamed From The CLI")
    monkeypatch.setenv("SOURCES__INTERCOM__HISTORY", "true")  # the dlt config way, without the flag
    assert intercom_pipeline.main(base) == 0
    assert len(versions(harness, "contacts")[changed]) == 2
    assert current(harness, "contacts", "name")[changed] == "Renamed From The CLI"
