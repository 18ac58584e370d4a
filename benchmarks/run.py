"""Benchmarks for "Throughput at the rate-limit bound": writes BENCHMARKS.md (not part of the CI tests).

    python benchmarks/run.py                  # the figures of record -> BENCHMARKS.md (about 35 min)
    python benchmarks/run.py --quick          # small sizes, no sweep, < 4 min: benchmarks/BENCHMARKS.quick.md
    python benchmarks/run.py --only b,sweep --json /tmp/bench.json     # some sections; keep raw results
    python benchmarks/run.py --render /tmp/bench.json                  # rewrite the markdown from them
    python benchmarks/run.py --only library --merge    # rerun one section, keep the others' text as it is

Sections (`--only`):
  a        zero latency, no rate limit: rows/s into DuckDB (parquet) for contacts, companies, conversations
           with parts, split into extract / normalize / load
  b        150 ms latency and the 10,000/min limit: wall time of a 5,000-conversation backfill with parts at
           the default worker count, beside the bound max(calls / rate, latency-bound with the workers)
  sweep    (b) with 4, 8, 16, 32 workers at 150 ms and 300 ms latency
  c        API calls of a full load and of an incremental run where nothing changed, beside the minimum
  d        peak RSS (VmHWM) of the pipeline process loading contacts at two sizes
  library  the library path, `pipeline.run(intercom_source())` from a user's own project (no .dlt config,
           nothing passed), beside the CLI (`intercom-dlt`) on the same contacts load: whole-process wall
           time, 3 runs each, alternating, and the ratio of the medians
  profile  py-spy CPU profiles of the contacts and the conversations loads: where the time goes
  models   the analytics models after a load of the tables they read (the throughput workspace): build as
           views, read every mart completely, build as tables, read again; seconds and peak RSS
           (`benchmarks/models_once.py`, a fresh process from the repository root)
  e        a contacts backfill read as slices (200,000 contacts, 500 ± 100 ms latency, 10,000/min), 3 runs:
           extract, normalize, load, search pages and probes, 429s, peak RSS, the median extract beside the
           bound max(calls / rate, latency × pages / concurrent slices) and the one-chain figure
  f        the mixed workspace (5,000 contacts, 485 companies, 1,500 conversations with their parts, the small
           tables; 150 ± 50 ms, 10,000/min) through the CLI: whole-process wall time, 3 runs, the median
           beside the rate bound (counted calls / rate), each run's extract / normalize / load from its trace

`--sweep-workers 48,64` measures other worker counts. Without `--merge` the markdown holds only the sections
run (or rendered); with it, the other sections are carried over from the existing file as they are. The
simulator (`python -m intercom_sim`) runs in its own process on a free loopback port; every load runs in a
fresh process (`benchmarks/load_once.py`) from the repository root, so the project's `.dlt/config.toml`
applies, with its pipelines dir and DuckDB file in a temp dir (`library`: the CLI from the repository root
and `benchmarks/library_load.py` from an empty temp dir, see `library_section`). Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bounds
import library_load
import load_once
import models_once
import report
from profile_summary import summarise_file
from simproc import REPO_ROOT, TOKEN, Simulator, WorkspaceSize, simulator, simulator_flags

from sources.intercom import settings
from sources.intercom.models import model_resources

SECTIONS = ("a", "b", "sweep", "c", "d", "library", "profile", "models", "e", "f")
CONVERSATIONS = ("conversations", "conversation_parts")
MODEL_RESOURCES = model_resources()
"""`models`: the resources whose tables the analytics models read."""
MODELS_TIMEOUT_S = 900
"""`models`: a child still running after this long is stopped, and the step it was in reported."""
SWEEP_WORKERS = (4, 8, 16, 32, 64)
SWEEP_LATENCIES_MS = (150, 300)
PY_SPY = ("py-spy", "record", "--format", "raw", "--nonblocking", "--gil")
"""Samples only the thread holding the GIL: threads waiting for it after I/O would otherwise count as CPU."""
WINDOW_SECONDS = 10.0
"""The simulator's rate-limit windows; rate-limited loads start at a window boundary (see `load`)."""
LIBRARY_REPETITIONS = 3
"""Runs of each path in `library`, alternating CLI, library, CLI, ..."""
ISSUE_RATE_LIMIT = 10_000
"""(e) and (f): the rate limit of issue #13, requests per minute (Intercom's default for a private app)."""
SLICED_LATENCY = {"latency_ms": 500, "latency_jitter_ms": 100}
"""(e): about what a real contacts search page takes, unevenly."""
MIXED_LATENCY = {"latency_ms": 150, "latency_jitter_ms": 50}
CLI_PIPELINE = "intercom"
"""The CLI's default pipeline name: its trace is under `<pipelines dir>/intercom/`."""
CLI_DATASET = "intercom_data"
INFO_LOGS = {"RUNTIME__LOG_LEVEL": "INFO"}
"""(e): the connector logs its slicing plan (slices, probe calls) at INFO."""
CHILD_ENV_DROPPED = (
    "SOURCES__",
    "DESTINATION__",
    "NORMALIZE__",
    "EXTRACT__",
    "LOAD__",
    "DATA_WRITER__",
    "RUNTIME__",
    "ARROW_DEFAULT_MEMORY_POOL",
)
"""Settings in the benchmark's own environment that the `library` children must not inherit: each path
gets only its own (the CLI sets the Arrow allocator itself; the library user does not)."""

Result = dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """Workspace sizes and settings of a run (full or quick)."""

    throughput: WorkspaceSize
    """(a), the larger contacts size of (d), and `models`."""
    small: WorkspaceSize
    """The smaller contacts size of (d), and the profiles."""
    calls: WorkspaceSize
    backfill: WorkspaceSize
    library: WorkspaceSize
    """`library`: the contacts loaded by the CLI and by the library path."""
    rate_limit: int
    sliced: WorkspaceSize
    """(e): the contacts backfill read as slices."""
    mixed: WorkspaceSize
    """(f): the mixed workspace loaded through the CLI."""
    mixed_runs: int = 3
    sliced_runs: int = 3
    backfill_latency_ms: int = 150
    sweep_latencies_ms: tuple[int, ...] = SWEEP_LATENCIES_MS
    sweep_workers: tuple[int, ...] = SWEEP_WORKERS

    def memory_sizes(self) -> tuple[int, int]:
        return self.small.contacts, self.throughput.contacts


FULL = Plan(
    throughput=WorkspaceSize(contacts=200_000, companies=20_000, conversations=5_000),
    small=WorkspaceSize(contacts=50_000, companies=100, conversations=2_000),
    calls=WorkspaceSize(contacts=20_000, companies=2_000, conversations=1_000),
    backfill=WorkspaceSize(contacts=500, companies=50, conversations=5_000),
    library=WorkspaceSize(contacts=40_000, companies=100, conversations=100),
    rate_limit=10_000,
    sliced=WorkspaceSize(contacts=200_000, companies=100, conversations=100),
    mixed=WorkspaceSize(contacts=5_000, companies=485, conversations=1_500),
)
QUICK = Plan(
    throughput=WorkspaceSize(contacts=20_000, companies=2_000, conversations=500),
    small=WorkspaceSize(contacts=10_000, companies=100, conversations=500),
    calls=WorkspaceSize(contacts=3_000, companies=300, conversations=200),
    backfill=WorkspaceSize(contacts=200, companies=20, conversations=1_000),
    library=WorkspaceSize(contacts=10_000, companies=100, conversations=100),
    rate_limit=3_000,  # 500 per window, so that 1,000 conversations still meet the limit
    sliced=WorkspaceSize(contacts=20_000, companies=100, conversations=100),
    mixed=WorkspaceSize(contacts=5_000, companies=485, conversations=1_500),
    mixed_runs=1,
    sliced_runs=1,
    sweep_latencies_ms=(150,),
)


@dataclass
class Runner:
    """Runs loads in fresh processes against a simulator; keeps their work dirs under one temp dir."""

    scratch: Path
    loads: int = 0
    log: list[str] = field(default_factory=list)

    def workdir(self, label: str) -> Path:
        self.loads += 1
        path = self.scratch / f"{self.loads:02d}-{label}"
        path.mkdir(parents=True)
        return path

    def display(self, cmd: list[str]) -> str:
        """A command as the report shows it: `python`, paths relative to the repo, `$TMP` for scratch."""
        text = " ".join(shlex.quote(part) for part in cmd).replace(sys.executable, "python")
        return text.replace(str(self.scratch), "$TMP").replace(f"{REPO_ROOT}/", "")

    def load(
        self,
        sim: Simulator,
        resources: tuple[str, ...],
        *,
        workdir: Path | None = None,
        max_workers: int | None = None,
        profile_to: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> Result:
        """One load in a fresh process; API calls counted by the simulator, memory by the process itself.

        With a rate limit, the load starts at a window boundary, so it gets no part-used first window for
        free and the time does not depend on when the run happened to start.
        """
        workdir = workdir or self.workdir(resources[0])
        cmd = load_command(sim, resources, workdir, max_workers)
        if profile_to is not None:
            cmd = [*PY_SPY, "-o", str(profile_to), "--", *cmd]
        sim.reset_counters()
        cpu_before, load_before = sim.cpu_seconds(), os.getloadavg()[0]
        self.log.append(self.display(cmd))
        result = run_child(cmd, workdir, env)
        counters, cpu_after = sim.counters(), sim.cpu_seconds()
        result.update(resources=list(resources), calls=counters.by_route, calls_total=counters.total)
        result.update(statuses=counters.statuses, sim_cpu_s=_difference(cpu_after, cpu_before))
        result.update(command=self.log[-1], load_average=[load_before, os.getloadavg()[0]])
        return result

    def models(self, workdir: Path) -> Result:
        """`models_once.py` over a loaded workdir: its result, with the error of a run that died or was
        stopped on the timeout (its last step is in the result it saved); fails on wrong row counts."""
        cmd = [sys.executable, str(Path(models_once.__file__).resolve()), "--workdir", str(workdir)]
        self.log.append(self.display(cmd))
        load_before = os.getloadavg()[0]
        env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"}
        try:
            done = subprocess.run(
                cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=MODELS_TIMEOUT_S
            )
            exit_code, stderr = done.returncode, done.stderr
        except subprocess.TimeoutExpired as expired:  # subprocess.run has killed it
            exit_code, stderr = None, _text(expired.stderr)
        (workdir / "models_stderr.log").write_text(stderr)
        saved = workdir / models_once.RESULT_FILE
        result: Result = json.loads(saved.read_text()) if saved.exists() else {}
        result.update(
            command=self.log[-1], exit_code=exit_code, load_average=[load_before, os.getloadavg()[0]]
        )
        if exit_code is None:
            result["error"] = f"stopped after {MODELS_TIMEOUT_S} s in step {result.get('current_step')!r}"
        elif exit_code != 0 and not result.get("check_failures"):
            tail = "\n".join(stderr.strip().splitlines()[-5:])
            result["error"] = f"exit {exit_code} in step {result.get('current_step')!r}: {tail}"
        if result.get("check_failures"):
            progress("(models) result: " + json.dumps(result))
            raise RuntimeError(
                "analytics models: wrong row counts: " + "; ".join(result["check_failures"]) + f" ({cmd})"
            )
        return result


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def retried_jobs(workdir: Path) -> dict[str, int]:
    """Load jobs dlt had to retry (transient errors, such as DuckDB out of memory under its cap), by table:
    a job file is named `<table>.<file id>.<retry count>.<format>`."""
    retried: dict[str, int] = {}
    for job in workdir.glob("pipelines/*/load/loaded/*/completed_jobs/*"):
        table, _, retries, *_ = job.name.split(".")
        if retries.isdigit() and int(retries) > 0:
            retried[table] = retried.get(table, 0) + int(retries)
    return retried


def load_command(
    sim: Simulator, resources: tuple[str, ...], workdir: Path, max_workers: int | None
) -> list[str]:
    script = str(Path(load_once.__file__).resolve())
    cmd = [sys.executable, script, "--base-url", sim.base_url, "--workdir", str(workdir)]
    cmd += ["--resources", ",".join(resources)]
    if max_workers:
        cmd += ["--max-workers", str(max_workers)]
    if sim.knobs().get("rate_limit"):
        cmd += ["--align-seconds", str(WINDOW_SECONDS)]
    return cmd


def run_child(cmd: list[str], workdir: Path, extra_env: dict[str, str] | None = None) -> Result:
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", **(extra_env or {})}
    # From the repository root, like the CLI: the project's .dlt/config.toml applies.
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    (workdir / "stderr.log").write_text(done.stderr)
    for line in done.stdout.splitlines():
        if line.startswith(load_once.RESULT_PREFIX):
            result: Result = json.loads(line[len(load_once.RESULT_PREFIX) :])
            return result
    tail = "\n".join(done.stderr.strip().splitlines()[-15:])
    raise RuntimeError(f"load failed (exit {done.returncode}): {' '.join(cmd)}\n{tail}")


def _difference(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else round(after - before, 2)


def progress(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


@contextmanager
def started(size: WorkspaceSize, **knobs: Any) -> Iterator[Simulator]:
    progress(f"starting the simulator: {size} {knobs}")
    with simulator(size, **knobs) as sim:
        yield sim


def simulator_command(
    size: WorkspaceSize, latency_ms: float = 0, rate_limit: int = 0, latency_jitter_ms: float = 0
) -> str:
    return "python -m intercom_sim " + " ".join(
        simulator_flags(size, latency_ms, rate_limit, latency_jitter_ms)
    )


# ------------------------------------------------------------------------------------------------ sections


def throughput_section(runner: Runner, plan: Plan, sections: set[str], results: Result) -> None:
    """(a) and the larger size of (d), on the big zero-latency workspace."""
    size = plan.throughput
    with started(size) as sim:
        if sections & {"a", "d"}:
            progress(f"(a) contacts: {size.contacts:,}")
            contacts = runner.load(sim, ("contacts",))
            results.setdefault("memory", {})[str(size.contacts)] = contacts
        if "a" in sections:
            progress(f"(a) companies: {size.companies:,}")
            companies = runner.load(sim, ("companies",))
            progress(f"(a) conversations with parts: {size.conversations:,}")
            conversations = runner.load(sim, CONVERSATIONS)
            results["a"] = {"simulator": simulator_command(size), "contacts": contacts}
            results["a"].update(companies=companies, conversations=conversations)
        if "models" in sections:
            results["models"] = models_run(runner, sim)


def models_run(runner: Runner, sim: Simulator) -> Result:
    """`models`: one load of the tables the models read, then the models over it in a fresh process."""
    workdir = runner.workdir("models")
    progress(f"(models) load of {', '.join(MODEL_RESOURCES)}: {sim.size}")
    load = runner.load(sim, MODEL_RESOURCES, workdir=workdir)
    load["retried_jobs"] = retried_jobs(workdir)
    progress("(models) build as views, read the marts, build as tables, read again")
    return {"simulator": simulator_command(sim.size), "load": load, "models": runner.models(workdir)}


def small_section(runner: Runner, plan: Plan, sections: set[str], results: Result) -> None:
    """The smaller size of (d), and the profiles, on a mid-sized zero-latency workspace."""
    with started(plan.small) as sim:
        if "d" in sections:
            progress(f"(d) contacts: {plan.small.contacts:,}")
            results.setdefault("memory", {})[str(plan.small.contacts)] = runner.load(sim, ("contacts",))
        if "profile" in sections:
            results["profile"] = profiles(runner, sim)


def profiles(runner: Runner, sim: Simulator) -> Result:
    if shutil.which("py-spy") is None:
        return {"error": "py-spy is not installed"}
    found: Result = {"simulator": simulator_command(sim.size)}
    for name, resources in (("contacts", ("contacts",)), ("conversations", CONVERSATIONS)):
        progress(f"profile: {name}")
        workdir = runner.workdir(f"profile-{name}")
        raw = workdir / "profile.raw"
        load = runner.load(sim, resources, workdir=workdir, profile_to=raw)
        found[name] = {"load": load, **summarise_file(raw).to_json()}
    return found


def calls_section(runner: Runner, plan: Plan, results: Result) -> None:
    """(c): a first load of every benchmarked resource, then the same pipeline again with nothing changed."""
    with started(plan.calls) as sim:
        workdir = runner.workdir("calls")
        progress("(c) full load")
        full = runner.load(sim, bounds.RESOURCES, workdir=workdir)
        progress("(c) incremental run, nothing changed")
        no_change = runner.load(sim, bounds.RESOURCES, workdir=workdir)
        scroll_page_size = int(sim.knobs()["scroll_page_size"])
    results["c"] = {"simulator": simulator_command(plan.calls), "scroll_page_size": scroll_page_size}
    results["c"].update(full=full, no_change=no_change)


def backfill_cells(plan: Plan, sections: set[str]) -> list[tuple[int, int | None]]:
    """(latency ms, workers) per load: None is the source's default worker count."""
    cells: list[tuple[int, int | None]] = []
    if "b" in sections:
        cells.append((plan.backfill_latency_ms, None))
    if "sweep" in sections:
        cells += [(latency, workers) for latency in plan.sweep_latencies_ms for workers in plan.sweep_workers]
    return cells


def backfill_section(runner: Runner, plan: Plan, sections: set[str], results: Result) -> None:
    """(b) and the worker sweep: conversations with parts under latency and the rate limit."""
    runs: list[Result] = []
    with started(plan.backfill, rate_limit=plan.rate_limit) as sim:
        for latency_ms, workers in backfill_cells(plan, sections):
            sim.set_knobs(latency_ms=latency_ms)
            progress(f"(b) backfill, {latency_ms} ms latency, workers {workers or 'default'}")
            load = runner.load(sim, CONVERSATIONS, max_workers=workers)
            run = {"latency_ms": latency_ms, "workers": load["max_workers"], "default": workers is None}
            runs.append({**run, "load": load})
    results["b"] = {"simulator": simulator_command(plan.backfill, 0, plan.rate_limit)}
    results["b"].update(runs=runs)
    results["b"].update(rate_limit=plan.rate_limit, conversations=plan.backfill.conversations)


def library_section(runner: Runner, plan: Plan, results: Result) -> None:
    """`library`: the same contacts load by the CLI and by `pipeline.run(intercom_source())` as a user's own
    project runs it, each in a fresh process with its own temp dir, alternating; whole-process wall time."""
    size, paths = plan.library, ("cli", "library")
    runs: list[Result] = []
    with started(size) as sim:
        for repetition in range(1, LIBRARY_REPETITIONS + 1):
            for path in paths:
                progress(f"(library) {path} {repetition}/{LIBRARY_REPETITIONS}: {size.contacts:,} contacts")
                runs.append({"path": path, "repetition": repetition, **library_run(runner, sim, path)})
    medians = {path: statistics.median(r["wall_s"] for r in runs if r["path"] == path) for path in paths}
    results["library"] = {"simulator": simulator_command(size), "contacts": size.contacts, "runs": runs}
    results["library"].update(median_s=medians, ratio=medians["library"] / medians["cli"])


def library_run(runner: Runner, sim: Simulator, path: str) -> Result:
    """One contacts load by the CLI (from the repository root) or by `library_load.py` (from an empty dir);
    fails unless the DuckDB file holds exactly the workspace's contacts."""
    workdir = runner.workdir(f"library-{path}")
    env = child_env(SOURCES__INTERCOM__ACCESS_TOKEN=TOKEN)
    if path == "cli":
        database, dataset, cwd = workdir / "cli.duckdb", CLI_DATASET, REPO_ROOT
        cmd = cli_command(sim, ("contacts",), workdir)
    else:
        database, dataset = workdir / library_load.DUCKDB_FILE, library_load.DATASET
        cwd = workdir / "project"  # a user's own project: no .dlt/ here
        cwd.mkdir()
        env["SOURCES__INTERCOM__BASE_URL"] = sim.base_url
        cmd = [sys.executable, str(Path(library_load.__file__).resolve()), "--workdir", str(workdir)]
    sim.reset_counters()
    cpu_before, load_before = sim.cpu_seconds(), os.getloadavg()[0]
    runner.log.append(runner.display([Path(cmd[0]).name if path == "cli" else cmd[0], *cmd[1:]]))
    result = timed_process(cmd, cwd, env, workdir)
    counters, cpu_after = sim.counters(), sim.cpu_seconds()
    contacts = table_rows(database, dataset, "contacts")
    if result["exit_code"] != 0 or contacts != sim.size.contacts:
        tail = "\n".join((workdir / "stderr.log").read_text().strip().splitlines()[-15:])
        raise RuntimeError(
            f"{path} load: exit {result['exit_code']}, {contacts} of {sim.size.contacts} contacts in"
            f" {database}: {' '.join(cmd)}\n{tail}"
        )
    result.update(contacts=contacts, calls_total=counters.total, statuses=counters.statuses)
    result.update(sim_cpu_s=_difference(cpu_after, cpu_before), command=runner.log[-1])
    result.update(load_average=[load_before, os.getloadavg()[0]])
    return result


def cli_command(sim: Simulator, resources: tuple[str, ...], workdir: Path) -> list[str]:
    """`intercom-dlt` loading `resources` from the simulator into `workdir/cli.duckdb`, pipelines dir
    `workdir/p`, no progress display; everything else (models, workers) at the CLI's defaults."""
    cmd = [intercom_dlt(), "--resources", ",".join(resources), "--base-url", sim.base_url]
    database, pipelines = workdir / "cli.duckdb", workdir / "p"
    return cmd + ["--duckdb-file", str(database), "--pipelines-dir", str(pipelines), "--progress", "none"]


def intercom_dlt() -> str:
    """The console command of this environment (next to its python), else the one on PATH."""
    beside = Path(sys.executable).with_name("intercom-dlt")
    found = str(beside) if beside.exists() else shutil.which("intercom-dlt")
    if found is None:
        raise SystemExit("intercom-dlt is not installed: pip install -e . in this environment")
    return found


def child_env(**settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(CHILD_ENV_DROPPED)}
    return {**env, "RUNTIME__DLTHUB_TELEMETRY": "false", **settings}


def timed_process(cmd: list[str], cwd: Path, env: dict[str, str], workdir: Path) -> Result:
    """Wall time from start to exit, CPU time (user + system, all threads) and peak RSS of one child."""
    with (workdir / "stdout.log").open("w") as out, (workdir / "stderr.log").open("w") as err:
        started_at = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted: no load left running against the simulator
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - started_at
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "vm_hwm_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "exit_code": proc.returncode,
    }


def table_rows(database: Path, dataset: str, table: str) -> int | None:
    """Rows of `dataset.table` in a DuckDB file, None if it cannot be read."""
    import duckdb

    try:
        with duckdb.connect(str(database), read_only=True) as connection:
            row = connection.execute(f'SELECT count(*) FROM "{dataset}"."{table}"').fetchone()
    except (duckdb.Error, OSError):
        return None
    return None if row is None else int(row[0])


def sliced_section(runner: Runner, plan: Plan, results: Result) -> None:
    """(e): a contacts backfill under real latency, read as slices, `plan.sliced_runs` times, each in a fresh
    process from a window boundary with a fresh pipeline; the connector's INFO log tells how many slices and
    probe calls its plan took. The run of median extract time is the one reported in full."""
    size, knobs = plan.sliced, {**SLICED_LATENCY, "rate_limit": ISSUE_RATE_LIMIT}
    runs: list[Result] = []
    with started(size, **knobs) as sim:
        for repetition in range(1, plan.sliced_runs + 1):
            workdir = runner.workdir(f"sliced-{repetition}")
            progress(
                f"(e) contacts backfill as slices: {size.contacts:,} contacts,"
                f" run {repetition}/{plan.sliced_runs}"
            )
            load = runner.load(sim, ("contacts",), workdir=workdir, env=INFO_LOGS)
            load["slicing"] = slicing_logged((workdir / "stderr.log").read_text())
            runs.append(load)
    by_extract = sorted(runs, key=lambda run: float(run["seconds"]["extract"]))
    results["e"] = {"simulator": simulator_command(size, **knobs), **knobs, "contacts": size.contacts}
    results["e"].update(chains=settings.SLICE_CONCURRENCY, runs=runs, load=by_extract[(len(runs) - 1) // 2])


SLICING_LINE = re.compile(r"(\w+): ([\d,]+) rows read as (\d+) slices \((\d+) probe calls\)")
"""What `readers._sliced_if_large` logs once it has planned a feed's slices."""


def slicing_logged(log: str) -> Result:
    """The slicing plan per feed from a load's log: rows, slices, probe calls (empty: not sliced)."""
    plans: Result = {}
    for feed, rows, slices, probes in SLICING_LINE.findall(log):
        plans[feed] = {"rows": int(rows.replace(",", "")), "slices": int(slices), "probes": int(probes)}
    return plans


def mixed_section(runner: Runner, plan: Plan, results: Result) -> None:
    """(f): the mixed workspace through the CLI, `plan.mixed_runs` times, each a fresh pipeline."""
    size, knobs = plan.mixed, {**MIXED_LATENCY, "rate_limit": ISSUE_RATE_LIMIT}
    runs: list[Result] = []
    with started(size, **knobs) as sim:
        scroll_page_size = int(sim.knobs()["scroll_page_size"])
        for repetition in range(1, plan.mixed_runs + 1):
            progress(f"(f) mixed workspace through the CLI, run {repetition}/{plan.mixed_runs}")
            runs.append({"repetition": repetition, **mixed_cli_run(runner, sim)})
    results["f"] = {"simulator": simulator_command(size, **knobs), **knobs, "runs": runs}
    results["f"].update(resources=list(bounds.RESOURCES), scroll_page_size=scroll_page_size)
    results["f"].update(median_s=statistics.median(run["wall_s"] for run in runs))


MIXED_CHECKED = ("contacts", "companies", "conversations")
"""(f): tables whose rows must be exactly the workspace's (its sizes), or the run is not counted."""


def mixed_cli_run(runner: Runner, sim: Simulator) -> Result:
    """One CLI load of the mixed workspace, started at a rate-limit window boundary; whole-process wall
    time, the calls by route, the rows loaded, and the pipeline's steps from the trace dlt saved."""
    workdir = runner.workdir("mixed-cli")
    cmd = cli_command(sim, bounds.RESOURCES, workdir)
    env = child_env(SOURCES__INTERCOM__ACCESS_TOKEN=TOKEN)
    runner.log.append(runner.display([Path(cmd[0]).name, *cmd[1:]]))
    load_once.wait_for_boundary(WINDOW_SECONDS)
    sim.reset_counters()
    cpu_before, load_before = sim.cpu_seconds(), os.getloadavg()[0]
    result = timed_process(cmd, REPO_ROOT, env, workdir)
    counters, cpu_after = sim.counters(), sim.cpu_seconds()
    database = workdir / "cli.duckdb"
    rows = {table: table_rows(database, CLI_DATASET, table) for table in bounds.INCREMENTAL_RESOURCES}
    expected = {name: getattr(sim.size, name) for name in MIXED_CHECKED}
    if result["exit_code"] != 0 or any(rows[name] != count for name, count in expected.items()):
        tail = "\n".join((workdir / "stderr.log").read_text().strip().splitlines()[-15:])
        exit_code = result["exit_code"]
        raise RuntimeError(f"mixed CLI load: exit {exit_code}, rows {rows}, expected {expected}: {tail}")
    result.update(rows=rows, calls=counters.by_route, calls_total=counters.total, statuses=counters.statuses)
    result.update(seconds=step_seconds(workdir / "p" / CLI_PIPELINE), command=runner.log[-1])
    result.update(sim_cpu_s=_difference(cpu_after, cpu_before))
    result.update(load_average=[load_before, os.getloadavg()[0]])
    return result


def step_seconds(pipeline_dir: Path) -> dict[str, float]:
    """Wall seconds of extract, normalize and load from the trace dlt saved for the pipeline's last run
    (`trace.pickle` in its working dir); empty if there is none."""
    from dlt.pipeline.trace import load_trace

    trace = load_trace(str(pipeline_dir))
    if trace is None:
        return {}
    return {
        step.step: (step.finished_at - step.started_at).total_seconds()
        for step in trace.steps
        if step.step in ("extract", "normalize", "load") and step.finished_at is not None
    }


# ------------------------------------------------------------------------------------------------ driver


def run_sections(plan: Plan, sections: set[str], scratch: Path) -> Result:
    runner = Runner(scratch)
    results: Result = {}
    steps: list[tuple[set[str], Callable[[], None]]] = [
        ({"a", "d", "models"}, lambda: throughput_section(runner, plan, sections, results)),
        ({"d", "profile"}, lambda: small_section(runner, plan, sections, results)),
        ({"c"}, lambda: calls_section(runner, plan, results)),
        ({"b", "sweep"}, lambda: backfill_section(runner, plan, sections, results)),
        ({"library"}, lambda: library_section(runner, plan, results)),
        ({"e"}, lambda: sliced_section(runner, plan, results)),
        ({"f"}, lambda: mixed_section(runner, plan, results)),
    ]
    for wanted, step in steps:
        if wanted & sections:
            step()
    if "d" in sections:
        results["d"] = {str(size): results["memory"][str(size)] for size in plan.memory_sizes()}
    results.pop("memory", None)
    return results


def meta(args: argparse.Namespace, sections: set[str], seconds: float) -> Result:
    import dlt

    return {
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(seconds),
        "quick": args.quick,
        "sections": sorted(sections, key=SECTIONS.index),
        "command": " ".join(["python benchmarks/run.py", *sys.argv[1:]]),
        "python": sys.version.split()[0],
        "dlt": dlt.__version__,
        "cpus": os.cpu_count(),
        "commit": _git_head(),
    }


def _git_head() -> str:
    """The checked-out commit, and whether the tree has changes (read-only git commands)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes" if dirty else "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, no worker sweep (< ~3 min)")
    parser.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)} (default: all)")
    parser.add_argument("--output", type=Path, help="markdown to write (default BENCHMARKS.md; quick: ...)")
    parser.add_argument("--sweep-workers", help=f"worker counts of the sweep (default {SWEEP_WORKERS})")
    parser.add_argument("--json", type=Path, help="also save the raw results here")
    parser.add_argument("--render", type=Path, help="only rewrite the markdown from results saved by --json")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the sections of the existing markdown that this run does not produce (default: replace"
        " the whole file)",
    )
    args = parser.parse_args(argv)
    default_output = "benchmarks/BENCHMARKS.quick.md" if args.quick else "BENCHMARKS.md"
    args.output = args.output or REPO_ROOT / default_output
    return args


def make_plan(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else FULL
    if args.sweep_workers:
        workers = tuple(int(count) for count in args.sweep_workers.split(","))
        plan = replace(plan, sweep_workers=workers)
    return plan


def selected_sections(args: argparse.Namespace) -> set[str]:
    sections = set(SECTIONS) if not args.only else {name.strip() for name in args.only.split(",")}
    unknown = sections - set(SECTIONS)
    if unknown:
        raise SystemExit(
            f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}"
        )
    if args.quick and not args.only:
        sections.discard("sweep")
    return sections


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        results = json.loads(args.render.read_text())
    else:
        sections, began = selected_sections(args), time.monotonic()
        with tempfile.TemporaryDirectory(prefix="intercom_bench_") as scratch:
            results = run_sections(make_plan(args), sections, Path(scratch))
        results["meta"] = meta(args, sections, time.monotonic() - began)
    if args.json and not args.render:
        args.json.write_text(json.dumps(results, indent=1))
    report.write(results, args.output, merge=args.merge)
    progress(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
