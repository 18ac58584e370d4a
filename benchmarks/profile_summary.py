"""Where the CPU time of a load goes, from a py-spy profile in "raw" (collapsed stacks) format.

Each line of the profile is `frame;frame;...;leaf count`, a frame being `function (path:line)`. py-spy leaves
out idle threads (blocked on a socket or a lock), so this is CPU time. A sample is put in a pipeline phase
by the dlt call it sits under, and in a category by what it is doing (its leaf frame, or, for a few
categories, any frame of its stack). Time inside C extensions counts for the Python frame that called them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PHASES = ("extract", "normalize", "load", "setup")
_PIPELINE_STEP = re.compile(r"^Pipeline\.(extract|normalize|load) \(dlt/pipeline/pipeline\.py:")
_THREAD_PHASE = (
    ("dlt/load/", "load"),
    ("dlt/normalize/", "normalize"),
    ("dlt/common/normalizers/", "normalize"),  # generator frames py-spy shows without their callers
    ("sources/intercom/", "extract"),
)

STACK_RULES: tuple[tuple[str, str], ...] = (
    ("imports", "<frozen importlib"),
    ("jsonpath compile (jsonpath_ng builds its LALR parser per call)", "jsonpath_ng/"),
)
"""(category, substring): a sample with any frame containing the substring; checked first, in order."""

LEAF_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("JSON decode (orjson)", ("loadb (dlt/common/json", "loads (dlt/common/json", "orjson")),
    ("JSON encode (dlt writers, orjson)", ("dlt/common/json/",)),
    ("gzip of intermediate files", ("gzip.py", "zlib")),
    (
        "HTTP client (requests, urllib3, http.client)",
        ("requests/", "urllib3/", "http/client.py", "socket.py"),
    ),
    ("row shaping (sources/intercom/records.py)", ("sources/intercom/records.py",)),
    ("other connector code (sources/intercom)", ("sources/intercom/",)),
    ("dlt relational normalizer", ("dlt/common/normalizers/", "dlt/normalize/")),
    ("dlt extract (pipes, incremental)", ("dlt/extract/",)),
    ("dlt schema, type coercion", ("dlt/common/schema/", "dlt/common/time.py", "dlt/common/data_types/")),
    ("parquet (pyarrow, dlt writers)", ("pyarrow", "dlt/common/libs/pyarrow", "dlt/common/data_writers/")),
    ("DuckDB and dlt loader", ("duckdb", "dlt/destinations/", "dlt/load/")),
    ("threads, queues, locks", ("threading.py", "concurrent/futures/", "queue.py")),
)
"""(category, substrings): matched against the leaf frame when no stack rule applies; first match wins."""


@dataclass
class ProfileSummary:
    """CPU samples per (category, phase), and the busiest leaf functions."""

    samples: int = 0
    by_category: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_leaf: Counter[str] = field(default_factory=Counter)

    def to_json(self, top: int = 15) -> dict[str, Any]:
        """Plain data for the report: samples per [category, phase], and the `top` busiest leaf frames."""
        cells = [[category, phase, count] for (category, phase), count in self.by_category.most_common()]
        return {"samples": self.samples, "cells": cells, "top_leaves": self.by_leaf.most_common(top)}


def phase_of(frames: list[str]) -> str:
    for frame in frames:
        match = _PIPELINE_STEP.match(frame)
        if match:
            return match.group(1)
    for marker, phase in _THREAD_PHASE:  # worker threads: loader jobs, concurrent detail fetches
        if any(marker in frame for frame in frames):
            return phase
    return "setup"


def category_of(frames: list[str]) -> str:
    for category, marker in STACK_RULES:
        if any(marker in frame for frame in frames):
            return category
    leaf = frames[-1]
    for category, markers in LEAF_RULES:
        if any(marker in leaf for marker in markers):
            return category
    return "other"


def summarise(lines: Iterable[str]) -> ProfileSummary:
    summary = ProfileSummary()
    for line in lines:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames, count = stack.split(";"), int(count_text)
        summary.samples += count
        summary.by_category[(category_of(frames), phase_of(frames))] += count
        summary.by_leaf[frames[-1]] += count
    return summary


def summarise_file(path: Path) -> ProfileSummary:
    with path.open(encoding="utf-8", errors="replace") as lines:
        return summarise(lines)
