"""The CLI users run: the demo loads a simulated workspace for real and reports rows per table."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines import intercom_pipeline


def test_demo_loads_a_simulated_workspace_and_prints_row_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sizes = {"seed": 3, "contacts": 90, "companies": 12, "conversations": 40, "tickets": 8}
    monkeypatch.setattr(intercom_pipeline, "DEMO_WORKSPACE", sizes)
    monkeypatch.chdir(tmp_path)
    assert intercom_pipeline.main(["--demo", "--progress"]) == 0
    out = capsys.readouterr().out
    assert "Loaded into duckdb dataset 'intercom_demo'" in out
    summary = out.split("Loaded into duckdb dataset 'intercom_demo':", 1)[1]
    counts = dict(line.split() for line in summary.strip().splitlines())
    assert counts["contacts"] == "90" and counts["companies"] == "12" and counts["conversations"] == "40"
    with duckdb.connect(str(tmp_path / "intercom.duckdb"), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM intercom_demo.tickets").fetchone() == (8,)
        parts = db.execute("SELECT count(*) FROM intercom_demo.conversation_parts").fetchone()
    assert parts is not None and int(counts["conversation_parts"].replace(",", "")) == parts[0] > 0
    assert not (tmp_path / ".dlt").exists(), "the demo keeps its pipeline state in a temporary folder"


def test_unknown_resource_lists_the_choices(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__INTERCOM__ACCESS_TOKEN", "not-used")
    assert (
        intercom_pipeline.main(["--resources", "contacts,contact_changes"]) == intercom_pipeline.EXIT_CONFIG
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "contact_changes" in err.split(";")[0] and "contact_segments" in err and "data_events" in err
