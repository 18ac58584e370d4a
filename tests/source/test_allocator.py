"""allocator.py: the malloc arena cap and the memory handed back when a feed ends, in a process of their own
(both are process-wide)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, threading
from sources.intercom.allocator import limit_malloc_arenas, release_free_memory

def rss_mb():
    status = open("/proc/self/status").read().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) // 1024

capped = limit_malloc_arenas()
survivors = []
all_holding = threading.Barrier(8)

def read_pages():
    blocks = [bytearray(2000) for _ in range(20000)]  # 40 MB in blocks malloc serves from its arenas
    all_holding.wait()  # all at once, as a backfill's threads are: none reuses what another freed
    survivors.append(blocks[::50])  # what a thread keeps pins its arena's top: malloc cannot shrink it alone
    del blocks

threads = [threading.Thread(target=read_pages) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
held = rss_mb()
release_free_memory()
print(json.dumps({"capped": capped, "held": held, "after": rss_mb()}))
"""

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or not platform.libc_ver()[0].startswith("glibc"), reason="glibc only"
)


def run_probe(**env: str) -> dict[str, int | bool]:
    environment = {key: value for key, value in os.environ.items() if key != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_freed_memory_goes_back_to_the_system_and_arenas_are_capped() -> None:
    probe = run_probe()
    assert probe["capped"] is True
    freed = probe["held"] - probe["after"]
    assert freed > 200, probe  # the threads freed 8 x 39 MB at once; without the trim malloc keeps it


def test_a_user_s_own_arena_setting_is_left_alone() -> None:
    assert run_probe(MALLOC_ARENA_MAX="8")["capped"] is False
