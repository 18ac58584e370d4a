"""API usage on the running pipeline's progress display: requests made and time waited for the rate limit.

dlt's progress collectors (`dlt.pipeline(progress="tqdm" | "log" | ...)`) already count the rows of each
table; this adds the source's own counters. Nothing is shown when the pipeline has no collector.
"""

from __future__ import annotations

import threading
from typing import Any

from dlt.common.configuration.container import Container
from dlt.common.pipeline import PipelineContext
from dlt.common.runtime.collector import NULL_COLLECTOR, Collector

from .client import IntercomClient

REQUESTS_COUNTER = "Intercom API requests"


class ApiUsageReporter:
    """A map step for every resource: passes items through and reports the client's new requests and
    rate-limit wait to the collector. Only the extract's main thread reports (collectors are not all
    thread-safe); requests made by worker threads are counted at the next report."""

    def __init__(self, client: IntercomClient) -> None:
        self._client = client
        self._reported_requests = 0

    def __call__(self, item: Any) -> Any:
        if self._client.request_count == self._reported_requests:
            return item  # dlt maps a list row by row: most rows come with no new request to report
        if threading.current_thread() is threading.main_thread():
            self.report(_active_collector())
        return item

    def report(self, collector: Collector) -> None:
        requests = self._client.request_count
        if requests == self._reported_requests:
            return
        if collector is not NULL_COLLECTOR:  # else nobody is shown the requests made until now
            waited = self._client.session.limiter.waited_seconds
            collector.update(
                REQUESTS_COUNTER,
                inc=requests - self._reported_requests,
                message=f"rate-limit wait {waited:.1f} s",
            )
        self._reported_requests = requests


def _active_collector() -> Collector:
    """The collector of the pipeline being run, without creating a pipeline when none is active."""
    context = Container()[PipelineContext]
    if not context.is_active():
        return NULL_COLLECTOR
    collector: Collector = getattr(context.pipeline(), "collector", NULL_COLLECTOR)
    return collector
