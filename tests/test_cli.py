"""The CLI users run: the demo loads a simulated workspace for real and reports rows per table."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
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
    assert intercom_pipeline.main(["--demo", "--progress", "log"]) == 0
    out = capsys.readouterr().out
    assert "Loaded into duckdb dataset 'intercom_demo'" in out
    summary = out.split("Loaded into duckdb dataset 'intercom_demo':", 1)[1]
    counts = dict(line.split() for line in summary.splitlines() if line.startswith("  "))
    assert "22 analytics models built as views" in summary.splitlines()[-1]
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


SMALL_DEMO = {"seed": 3, "contacts": 90, "companies": 12, "conversations": 40, "tickets": 8}
QUICK = ["--demo", "--resources", "contacts,conversations,conversation_parts,admins"]


@pytest.fixture
def small_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(intercom_pipeline, "DEMO_WORKSPACE", SMALL_DEMO)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_progress_log_writes_rows_per_table_requests_and_the_rate_limit_wait(
    small_demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert intercom_pipeline.main([*QUICK, "--progress", "log"]) == 0
    out = capsys.readouterr().out
    progress = out.split("Loaded into", 1)[0]
    assert "Extract intercom" in progress and "Load intercom" in progress
    assert "contacts: 90 " in progress and "conversation_parts: " in progress
    requests = [line for line in progress.splitlines() if line.startswith("Intercom API requests: ")]
    assert requests and "[rate-limit wait 0.0 s]" in requests[-1]
    assert int(requests[-1].split(": ")[1].split()[0]) >= 40  # one detail call per conversation


def test_quiet_prints_nothing_and_loads(small_demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert intercom_pipeline.main([*QUICK, "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    with duckdb.connect(str(small_demo / "intercom.duckdb"), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM intercom_demo.contacts").fetchone() == (90,)


def test_without_a_terminal_only_the_summary_is_printed(
    small_demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert intercom_pipeline.main(QUICK) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Loaded into duckdb dataset 'intercom_demo':") and err == ""


def test_on_a_terminal_the_live_display_shows_tables_and_requests(tmp_path: Path) -> None:
    """The console command in a pseudo-terminal of 120 columns, as a person would run it."""
    screen = run_in_terminal(["intercom-dlt", *QUICK, "--duckdb-file", str(tmp_path / "t.duckdb")], tmp_path)
    frames = screen.replace("\r", "\n")
    assert "it/s" in frames  # tqdm's bars
    assert "contacts: 2000it" in frames
    assert "Intercom API requests: " in frames and "rate-limit wait" in frames
    assert "Loaded into duckdb dataset 'intercom_demo':" in frames


def run_in_terminal(command: list[str], cwd: Path) -> str:
    """Everything `command` writes to a pseudo-terminal (stdout and stderr) until it exits; asserts exit 0."""
    primary, secondary = os.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
    executable = Path(sys.executable).parent / command[0]
    process = subprocess.Popen(
        [str(executable), *command[1:]], stdout=secondary, stderr=secondary, stdin=subprocess.DEVNULL, cwd=cwd
    )
    os.close(secondary)
    output = bytearray()
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        output += chunk
    os.close(primary)
    assert process.wait(timeout=120) == 0, output.decode(errors="replace")[-2000:]
    return output.decode(errors="replace")


def test_a_failure_dlt_only_announces_is_reported_with_its_cause() -> None:
    """dlt's step errors start with "... with exception:": the one line printed names the cause too."""
    announced = "Pipeline execution failed at `step=normalize` with exception:"
    try:
        try:
            raise OSError(39, "Directory not empty")
        except OSError as cause:
            raise RuntimeError(f"{announced}\n\n<class 'OSError'>") from cause
    except RuntimeError as exc:
        reported = intercom_pipeline.root_cause(exc)
    assert reported == f"{announced} OSError: [Errno 39] Directory not empty"
