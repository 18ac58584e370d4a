"""Chunked backfills: a long backfill loaded as a sequence of load packages, each committing its rows
together with its resume point.

dlt commits state only with a load package, i.e. once per `pipeline.run`: a run killed after reading 80%
of a backfill commits nothing and the next run starts from zero. So the runner (`runs.load()`, which the
CLI calls) arms chunking for its pipeline (`armed`), and a search feed with more than `rows` rows to read
stops at the first point its cursor can resume from exactly:

- a sliced search (slices.py): after the lowest slices whose probed counts reach `rows`, read whole (and
  at least one slice beyond the cursor, so that every chunk moves it); the rest is not requested at all;
- an ascending search chain to the second (conversations, tickets): after the page on which `rows` new
  rows are reached. The next run starts at (cursor - lookback), so rows of that last second that were on
  the next page are read then; rows read again unchanged are dropped (`RecentRows`).

A descending chain (a contacts search too small to slice) and a bounded run (`end_date`: dlt keeps no
cursor) are read whole. The stopped feed's cursor, its recent rows and the rows of the tables read from it
(a chunk's conversation parts) are committed in that chunk's package; the runner then runs the source
again for the stopped feeds only, until none stops. Gone markers (`reconcile_deletes`) come only from a
feed's last chunk: every live id is listed once per load, once the feed's rows are all read.

`pipeline.run(intercom_source())` outside `load()` is never chunked: it loads everything in one package.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dlt
from dlt.common.configuration.container import Container
from dlt.common.pipeline import PipelineContext


@dataclass(frozen=True)
class FeedChunk:
    """What one feed read in one chunk: `rows` new or changed rows, and whether it stopped short."""

    feed: str
    rows: int
    more: bool


@dataclass
class Chunking:
    """The chunk size the runner armed for its pipeline, and what the feeds of the current run read."""

    rows: int
    whole: set[str] = field(default_factory=set)
    """Feeds to read whole from now on (a chunk that could not move their cursor)."""
    _read: dict[str, FeedChunk] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def limit_for(self, feed: str) -> int | None:
        return None if feed in self.whole else self.rows

    def record(self, chunk: FeedChunk) -> None:
        with self._lock:
            self._read[chunk.feed] = chunk

    def take(self) -> dict[str, FeedChunk]:
        """What the feeds read since the last `take`, by feed."""
        with self._lock:
            read, self._read = self._read, {}
        return read


_ARMED: dict[int, Chunking] = {}
_ARMED_LOCK = threading.Lock()


@contextmanager
def armed(pipeline: dlt.Pipeline, rows: int) -> Iterator[Chunking]:
    """Chunking of `rows` rows for the runs of `pipeline` inside the block (the readers find it through the
    running pipeline, so other pipelines in the process are not chunked)."""
    chunking = Chunking(rows)
    with _ARMED_LOCK:
        _ARMED[id(pipeline)] = chunking
    try:
        yield chunking
    finally:
        with _ARMED_LOCK:
            _ARMED.pop(id(pipeline), None)


def current_chunking() -> Chunking | None:
    """The chunking armed for the pipeline being run, None outside `armed` (or outside a pipeline)."""
    context = Container()[PipelineContext]
    if not context.is_active():
        return None
    with _ARMED_LOCK:
        return _ARMED.get(id(context.pipeline()))
