"""Throughput of the local Intercom simulator: pages of 150 contacts per second.

Starts the simulator in a child process (so server and client do not share a GIL) on 127.0.0.1 with zero
latency and no rate limit, then lets a few client threads walk the contact cursors for a few seconds over
keep-alive ``http.client`` connections:

* ``GET /contacts?per_page=150&starting_after=<cursor>``
* ``POST /contacts/search`` with ``pagination: {per_page: 150, starting_after: <cursor>}``

Bodies are read as raw bytes; the next cursor is found with a ``bytes.rfind`` for ``"starting_after"`` (no
JSON parsing). When a walk reaches the last page it starts over. Prints a human summary and one JSON result
line (also appended to ``--output`` if given).

    python benchmarks/sim_throughput.py            # 20,000 contacts, 4 threads (2 on < 4 cores), 5 s
    python benchmarks/sim_throughput.py --quick    # 3,000 contacts, 2 threads, 1.5 s

Only 127.0.0.1 is contacted; the run is bounded by ``--seconds`` and ``--max-requests``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from simproc import TOKEN, WorkspaceSize, process_cpu_seconds, simulator

PER_PAGE = 150
TARGET_PAGES_PER_S = 1000.0
SEARCH_QUERY = {"field": "created_at", "operator": ">", "value": 0}
_CURSOR_RE = re.compile(rb'"starting_after"\s*:\s*"([^"]+)"')


@dataclass(frozen=True)
class SimProcess:
    host: str
    port: int
    pid: int


@contextmanager
def simulator_process(contacts: int, seed: int, startup_timeout: float) -> Iterator[SimProcess]:
    """`python -m intercom_sim` in a child process (benchmarks/simproc.py); yield where it listens."""
    size = WorkspaceSize(contacts=contacts, companies=max(20, contacts // 100), conversations=20, seed=seed)
    with simulator(size, startup_timeout=startup_timeout) as sim:
        parts = urlsplit(sim.base_url)
        if parts.hostname != "127.0.0.1" or parts.port is None:
            raise RuntimeError(f"simulator must listen on 127.0.0.1, got {sim.base_url}")
        yield SimProcess(parts.hostname, parts.port, sim.proc.pid)


# ----------------------------------------------------------------------------------------------------
# Client side
# ----------------------------------------------------------------------------------------------------


@dataclass
class WorkerStats:
    kind: str
    pages: int = 0
    bytes: int = 0
    errors: int = 0
    walks_completed: int = 0
    latencies_ms: list[float] = field(default_factory=list)


def _headers(with_body: bool) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Accept": "application/json",
        "Intercom-Version": "2.11",
    }
    if with_body:
        headers["Content-Type"] = "application/json"
    return headers


def next_cursor(body: bytes) -> str | None:
    """The `pages.next.starting_after` of a page, found from the end of the raw body without parsing it."""
    at = body.rfind(b'"starting_after"')
    if at < 0:
        return None
    match = _CURSOR_RE.match(body, at)
    return match.group(1).decode() if match else None


def _request(kind: str, cursor: str | None) -> tuple[str, str, bytes | None]:
    if kind == "list":
        path = f"/contacts?per_page={PER_PAGE}"
        return "GET", path + (f"&starting_after={quote(cursor)}" if cursor else ""), None
    pagination: dict[str, object] = {"per_page": PER_PAGE}
    if cursor:
        pagination["starting_after"] = cursor
    body = json.dumps({"query": SEARCH_QUERY, "pagination": pagination}).encode()
    return "POST", "/contacts/search", body


def fetch_page(conn: http.client.HTTPConnection, kind: str, cursor: str | None) -> tuple[int, bytes]:
    method, path, body = _request(kind, cursor)
    conn.request(method, path, body=body, headers=_headers(body is not None))
    response = conn.getresponse()
    return response.status, response.read()


def run_worker(host: str, port: int, stats: WorkerStats, deadline: float, max_requests: int) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    cursor: str | None = None
    try:
        for _ in range(max_requests):
            if time.monotonic() >= deadline:
                break
            started = time.perf_counter()
            status, body = fetch_page(conn, stats.kind, cursor)
            stats.latencies_ms.append((time.perf_counter() - started) * 1000)
            if status != 200:
                stats.errors += 1
                cursor = None
                continue
            stats.pages += 1
            stats.bytes += len(body)
            cursor = next_cursor(body)
            if cursor is None:
                stats.walks_completed += 1
    finally:
        conn.close()


def check_server(host: str, port: int) -> None:
    """One page of each kind, parsed, to fail early and loudly if the simulator misbehaves."""
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        for kind in ("list", "search"):
            status, body = fetch_page(conn, kind, None)
            if status != 200:
                raise RuntimeError(f"{kind} page answered {status}: {body[:300]!r}")
            page = json.loads(body)
            if len(page["data"]) != PER_PAGE:
                raise RuntimeError(f"{kind} page has {len(page['data'])} contacts, expected {PER_PAGE}")
            expected = ((page.get("pages") or {}).get("next") or {}).get("starting_after")
            if next_cursor(body) != expected:
                raise RuntimeError(f"cursor scan found {next_cursor(body)!r}, JSON says {expected!r}")
    finally:
        conn.close()


def run_load(host: str, port: int, threads: int, seconds: float, max_requests: int) -> list[WorkerStats]:
    kinds = ["list", "search"] if threads > 1 else ["list"]
    workers = [WorkerStats(kind=kinds[i % len(kinds)]) for i in range(threads)]
    deadline = time.monotonic() + seconds
    per_thread = max(1, max_requests // threads)
    pool = [
        threading.Thread(target=run_worker, args=(host, port, w, deadline, per_thread), daemon=True)
        for w in workers
    ]
    for t in pool:
        t.start()
    for t in pool:
        t.join(seconds + 60)
    return workers


# ----------------------------------------------------------------------------------------------------
# Reporting
# ----------------------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class CpuUsage:
    server_s: float | None
    client_s: float


def summarise(
    workers: list[WorkerStats], elapsed: float, cpu: CpuUsage, args: argparse.Namespace
) -> dict[str, object]:
    pages = sum(w.pages for w in workers)
    size = sum(w.bytes for w in workers)
    latencies = [x for w in workers for x in w.latencies_ms]
    by_kind = {
        kind: {
            "pages": sum(w.pages for w in workers if w.kind == kind),
            "errors": sum(w.errors for w in workers if w.kind == kind),
        }
        for kind in sorted({w.kind for w in workers})
    }
    pages_per_s = pages / elapsed if elapsed else 0.0
    return {
        "benchmark": "sim_throughput",
        "contacts": args.contacts,
        "threads": args.threads,
        "per_page": PER_PAGE,
        "seconds": round(elapsed, 3),
        "pages": pages,
        "errors": sum(w.errors for w in workers),
        "walks_completed": sum(w.walks_completed for w in workers),
        "by_kind": by_kind,
        "pages_per_s": round(pages_per_s, 1),
        "mb_per_s": round(size / elapsed / 1e6, 2) if elapsed else 0.0,
        "avg_page_kb": round(size / pages / 1e3, 1) if pages else 0.0,
        "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else 0.0,
        "latency_ms_p99": round(_percentile(latencies, 0.99), 2),
        "server_cpu_pct": round(100 * cpu.server_s / elapsed, 1)
        if cpu.server_s is not None and elapsed
        else None,
        "client_cpu_pct": round(100 * cpu.client_s / elapsed, 1) if elapsed else None,
        "cpus": os.cpu_count(),
        "target_pages_per_s": TARGET_PAGES_PER_S,
        "meets_target": pages_per_s >= TARGET_PAGES_PER_S,
        "quick": args.quick,
    }


def report(result: dict[str, object], output: Path | None) -> None:
    print(
        f"{result['pages']} pages in {result['seconds']} s with {result['threads']} threads: "
        f"{result['pages_per_s']} pages/s, {result['mb_per_s']} MB/s "
        f"(avg page {result['avg_page_kb']} kB, p50 {result['latency_ms_p50']} ms, "
        f"p99 {result['latency_ms_p99']} ms, errors {result['errors']}; CPU server "
        f"{result['server_cpu_pct']}% client {result['client_cpu_pct']}% of one core; "
        f"target {TARGET_PAGES_PER_S:.0f} pages/s {'met' if result['meets_target'] else 'NOT met'})"
    )
    line = json.dumps(result, sort_keys=True)
    print(line)
    if output is not None:
        with output.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


# ----------------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small workspace, 2 threads, 1.5 s")
    parser.add_argument(
        "--contacts", type=int, default=None, help="workspace size (default 20000; quick 3000)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="client threads (default 4, 2 on < 4 cores; quick 2)"
    )
    parser.add_argument("--seconds", type=float, default=None, help="measurement time (default 5; quick 1.5)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="hard cap on timed requests")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--startup-timeout", type=float, default=300.0, help="seconds to wait for the simulator"
    )
    parser.add_argument("--output", type=Path, default=None, help="append the JSON result line to this file")
    args = parser.parse_args(argv)
    # 4 client threads only pay off with >= 4 cores; on 2 cores they just compete with the server
    full_threads = 4 if (os.cpu_count() or 1) >= 4 else 2
    defaults = (3000, 2, 1.5) if args.quick else (20_000, full_threads, 5.0)
    args.contacts = args.contacts or defaults[0]
    args.threads = max(1, min(args.threads or defaults[1], 8))
    args.seconds = min(args.seconds or defaults[2], 60.0)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"starting simulator with {args.contacts} contacts ...", flush=True)
    t0 = time.monotonic()
    with simulator_process(args.contacts, args.seed, args.startup_timeout) as sim:
        print(f"simulator up on {sim.host}:{sim.port} after {time.monotonic() - t0:.1f} s", flush=True)
        check_server(sim.host, sim.port)
        server_cpu0, client_cpu0 = process_cpu_seconds(sim.pid), time.process_time()
        started = time.monotonic()
        workers = run_load(sim.host, sim.port, args.threads, args.seconds, args.max_requests)
        elapsed = time.monotonic() - started
        server_cpu1 = process_cpu_seconds(sim.pid)
    server_cpu = None if server_cpu0 is None or server_cpu1 is None else server_cpu1 - server_cpu0
    cpu = CpuUsage(server_s=server_cpu, client_s=time.process_time() - client_cpu0)
    result = summarise(workers, elapsed, cpu, args)
    report(result, args.output)
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
