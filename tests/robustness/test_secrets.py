"""The access token leaks nowhere: logs at DEBUG, errors, state, traces, packages, tables, dlt's own CLI.

Loads run in this process and as the CLI, succeeding and failing, with a right and a wrong token; then every
artifact they left is searched for both tokens, in clear and in base64 at every byte alignment.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import logging
import random
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow.parquet
import pytest
from dlt.common.versioned_state import decompress_state
from dlt.pipeline.exceptions import PipelineStepFailed

from tests.robustness.support import (
    RESOURCES,
    TOKEN,
    MakeHarness,
    cli_env,
    harness_args,
    mutate,
    pipelines_dir,
    run_cli,
)
from tests.source.conftest import Harness

WRONG_TOKEN = "tok-wrong-Hy4p2Wm7-0b9e8d7c6a5f4e3d2c1b-decaf"
DEBUG_ENV = {"RUNTIME__LOG_LEVEL": "DEBUG"}


def token_forms(token: str) -> set[str]:
    """The token, and the part of its base64 (standard and URL-safe) that any encoding containing it holds."""
    forms = {token}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + token.encode()).decode()
        core = encoded[4 if shift else 0 : -4]
        forms |= {core, core.replace("+", "-").replace("/", "_")}
    return forms


NEEDLES = token_forms(TOKEN) | token_forms(WRONG_TOKEN)


class Evidence:
    """Every text a run produced, by where it came from."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def add(self, where: str, text: str) -> None:
        self.texts[where] = self.texts.get(where, "") + text

    def add_process(self, where: str, completed: subprocess.CompletedProcess[str]) -> None:
        self.add(f"{where} stdout", completed.stdout)
        self.add(f"{where} stderr", completed.stderr)

    def leaks(self) -> list[str]:
        return sorted(where for where, text in self.texts.items() if any(form in text for form in NEEDLES))


@contextmanager
def logs_at_debug(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Every log record of this process at DEBUG: the root logger's and dlt's (which does not propagate)."""
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    loggers = [logging.getLogger(name) for name in ("", "dlt", "urllib3", "sources.intercom")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    for logger in loggers[:2]:
        logger.addHandler(handler)
    try:
        yield buffer
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def file_texts(path: Path) -> Iterator[str]:
    """A file as text, raw and decoded: gzip members unpacked, parquet read into values."""
    data = path.read_bytes()
    yield data.decode("latin-1")
    if data[:2] == b"\x1f\x8b":
        yield gzip.decompress(data).decode("latin-1")
    if data[:4] == b"PAR1":
        yield repr(pyarrow.parquet.read_table(path).to_pylist())


def destination_texts(database: Path) -> Iterator[tuple[str, str]]:
    """Every table of every schema in the database as text; pipeline states decompressed."""
    with duckdb.connect(str(database), read_only=True) as connection:
        tables = "SELECT table_schema, table_name FROM information_schema.tables"
        for schema, table in connection.execute(tables).fetchall():
            rows = connection.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            yield f"{schema}.{table}", repr(rows)
            if table == "_dlt_pipeline_state":
                states = connection.execute(f'SELECT state FROM "{schema}"."{table}"').fetchall()
                yield f"{schema}.{table} (decompressed)", repr([decompress_state(row[0]) for row in states])


def dlt_cli(harness: Harness, *command: str) -> subprocess.CompletedProcess[str]:
    """`dlt -vv pipeline --pipelines-dir … intercom <command>`, with the token in the environment."""
    return subprocess.run(
        [sys.executable, "-m", "dlt", "-vv", "pipeline", "--pipelines-dir", str(pipelines_dir(harness))]
        + [harness.pipeline_name, *command],
        cwd=harness.tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_in_process(harness: Harness, evidence: Evidence) -> None:
    """A full load, an incremental one and one failing mid-extract; the traces and the error kept."""
    harness.run(RESOURCES)
    mutate(harness, random.Random(5))
    harness.run(RESOURCES)
    mutate(harness, random.Random(6))
    harness.server.knobs.plan_restricted = frozenset({"GET /conversations/{id}"})
    with pytest.raises(PipelineStepFailed) as failure:
        harness.run(RESOURCES, required_resources=RESOURCES)
    harness.server.knobs.plan_restricted = frozenset()
    error = failure.value
    evidence.add("failed run: exception", "".join(traceback.format_exception(error)) + repr(error))
    trace = harness.pipeline().last_trace
    evidence.add("last_trace", str(trace) + repr(trace) + json.dumps(trace.asdict(), default=str))


def run_cli_loads(harness: Harness, evidence: Evidence) -> None:
    """A failing CLI run, a succeeding one and one with a wrong token, all logging at DEBUG."""
    harness.server.knobs.plan_restricted = frozenset({"GET /teams"})
    failing = run_cli(harness_args(harness), cwd=harness.tmp_path, env=cli_env(**DEBUG_ENV))
    harness.server.knobs.plan_restricted = frozenset()
    mutate(harness, random.Random(7))
    succeeding = run_cli(harness_args(harness), cwd=harness.tmp_path, env=cli_env(**DEBUG_ENV))
    wrong = run_cli(harness_args(harness), cwd=harness.tmp_path, env=cli_env(WRONG_TOKEN, **DEBUG_ENV))
    assert [failing.returncode, succeeding.returncode, wrong.returncode] == [1, 0, 3], succeeding.stderr
    for where, completed in (("cli failing", failing), ("cli ok", succeeding), ("cli wrong token", wrong)):
        evidence.add_process(where, completed)
    assert "[DEBUG]" in succeeding.stderr, "the CLI run logged at DEBUG"


def collect_artifacts(harness: Harness, evidence: Evidence) -> None:
    for command in (("trace",), ("info",), ("load-package",)):
        completed = dlt_cli(harness, *command)
        assert completed.returncode == 0, completed.stderr
        evidence.add_process(f"dlt pipeline {command[0]}", completed)
    for path in sorted(harness.tmp_path.rglob("*")):
        if path.is_file():
            for text in file_texts(path):
                evidence.add(str(path.relative_to(harness.tmp_path)), text)
    for where, text in destination_texts(harness.duckdb_path):
        evidence.add(f"destination {where}", text)
    for method, target, headers in harness.server.request_log:
        evidence.add("requests as the API saw them", f"{method} {target} {headers}")


def test_the_token_is_in_no_log_error_state_trace_package_or_table(
    make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a failed run leaves its companies scroll open: let it expire before the next run asks for one
    harness = make_harness({"contacts": 60, "companies": 10, "conversations": 20}, scroll_ttl_seconds=0.2)
    evidence = Evidence()
    with logs_at_debug(monkeypatch) as logs:
        run_in_process(harness, evidence)
    debug = logs.getvalue()
    evidence.add("in-process logs at DEBUG", debug)
    assert "Making GET request" in debug and "HTTP/1.1" in debug, "dlt's and urllib3's DEBUG lines"
    run_cli_loads(harness, evidence)
    collect_artifacts(harness, evidence)

    assert any("trace.pickle" in where for where in evidence.texts), "the trace file was searched"
    assert any("_dlt_pipeline_state (decompressed)" in where for where in evidence.texts)
    assert evidence.leaks() == []


@pytest.mark.parametrize("prefix", ["", "Bearer ", "Authorization: Bearer "])
def test_the_search_finds_the_token_in_base64_at_any_alignment(prefix: str) -> None:
    for wrapped in (f"{prefix}{TOKEN}", f"{prefix}{TOKEN}\r\n"):
        encoded = base64.b64encode(wrapped.encode()).decode()
        assert any(form in encoded for form in token_forms(TOKEN)), wrapped
        assert any(form in encoded.replace("+", "-").replace("/", "_") for form in token_forms(TOKEN))
