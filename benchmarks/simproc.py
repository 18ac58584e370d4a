"""The Intercom simulator in its own process (`python -m intercom_sim`) and its control API (`/_sim/...`).

The benchmarks run the simulator in a separate process so that its CPU and memory are not the pipeline's:
peak RSS read in the pipeline process is the connector's alone, and both get their own GIL.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
TOKEN = "sim-token"
_SERVING = re.compile(r"serving (http://127\.0\.0\.1:\d+)")


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (Linux /proc): tells whether the server or the client is the bottleneck."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


@dataclass(frozen=True)
class WorkspaceSize:
    """What `python -m intercom_sim` generates (its CLI flags)."""

    contacts: int
    companies: int
    conversations: int
    tickets: int = 5
    seed: int = 1

    def cli_args(self) -> list[str]:
        sizes = {
            "--contacts": self.contacts,
            "--companies": self.companies,
            "--conversations": self.conversations,
            "--tickets": self.tickets,
            "--seed": self.seed,
        }
        return [str(part) for flag, value in sizes.items() for part in (flag, value)]


@dataclass(frozen=True)
class Counters:
    """Requests the simulator answered, per route template ("POST /contacts/search"), 429s included."""

    by_route: dict[str, int]
    total: int
    statuses: dict[str, int]


class Simulator:
    """A running `python -m intercom_sim` child and a client for its control API."""

    def __init__(self, proc: subprocess.Popen[str], base_url: str, size: WorkspaceSize) -> None:
        self.proc = proc
        self.base_url = base_url
        self.size = size

    def _control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def counters(self) -> Counters:
        body = self._control("GET", "/_sim/counters")
        return Counters(body["counters"], body["request_count"], body["status_counts"])

    def reset_counters(self) -> None:
        self._control("POST", "/_sim/counters/reset", {})

    def set_knobs(self, **knobs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._control("POST", "/_sim/knobs", knobs)
        return result

    def knobs(self) -> dict[str, Any]:
        result: dict[str, Any] = self._control("GET", "/_sim/knobs")
        return result

    def cpu_seconds(self) -> float | None:
        return process_cpu_seconds(self.proc.pid)


def simulator_flags(
    size: WorkspaceSize, latency_ms: float = 0, rate_limit: int = 0, latency_jitter_ms: float = 0
) -> list[str]:
    """The simulator's command-line flags (the token aside). `--warm` serializes every object before it
    serves: each load reads each object once, and should measure the connector, not the first serialization
    of every object by a simulator sharing its cores. The jitter flag only where there is one."""
    jitter = ["--latency-jitter-ms", str(latency_jitter_ms)] if latency_jitter_ms else []
    return [
        "--port",
        "0",
        "--warm",
        *size.cli_args(),
        "--latency-ms",
        str(latency_ms),
        *jitter,
        "--rate-limit",
        str(rate_limit),
    ]


@contextmanager
def simulator(
    size: WorkspaceSize,
    *,
    latency_ms: float = 0,
    rate_limit: int = 0,
    latency_jitter_ms: float = 0,
    startup_timeout: float = 300.0,
) -> Iterator[Simulator]:
    """Start `python -m intercom_sim` on a free loopback port; stop it (SIGINT) on exit."""
    cmd = [
        sys.executable,
        "-m",
        "intercom_sim",
        "--token",
        TOKEN,
        *simulator_flags(size, latency_ms, rate_limit, latency_jitter_ms),
    ]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        yield Simulator(proc, _wait_for_url(proc, startup_timeout), size)
    finally:
        _stop(proc)


def _wait_for_url(proc: subprocess.Popen[str], timeout: float) -> str:
    """The base URL from the simulator's "serving http://127.0.0.1:<port>" line."""
    stdout = proc.stdout
    assert stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    match = _SERVING.search(lines[0]) if lines else None
    if match is None:
        raise RuntimeError(f"simulator did not start within {timeout:.0f}s (exit code {proc.poll()})")
    return match.group(1)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # the CLI stops its server on KeyboardInterrupt
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()
