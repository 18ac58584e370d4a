"""Everything HTTP for the Intercom source: base URL, auth, version header, paging, rate limit, retries.

The `IntercomSession` sits under dlt's `RESTClient` (and its paginators). It paces every request of a run
through one shared `RateLimiter`, retries transient faults with backoff, parses each JSON body once (so a
truncated body is retried instead of failing inside a paginator) and turns API errors into the connector's
typed errors. The access token only ever lives in the `Authorization` header, which is never logged.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final, Generic, TypeVar
from urllib.parse import urlparse

import requests
import urllib3
from dlt.common import json, jsonpath
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import (
    BasePaginator,
    JSONLinkPaginator,
    JSONResponseCursorPaginator,
    PageNumberPaginator,
)
from requests.adapters import HTTPAdapter
from requests.hooks import dispatch_hook
from requests.utils import resolve_proxies

from . import settings
from .arrow_pages import BODY_PARSE_ERRORS, BodyParser, body_list_length, body_value
from .errors import (
    AuthenticationError,
    ConfigurationError,
    IntercomAPIError,
    NotFoundError,
    PlanRestrictedError,
    TransientError,
)

logger = logging.getLogger("sources.intercom")

_T = TypeVar("_T")
_R = TypeVar("_R")
_S = TypeVar("_S")
ArrowOrJson = Any
"""A body read by a `BodyParser` (arrow_pages.py), or the decoded JSON where none was given or it could not
read the body."""

TRANSIENT_EXCEPTIONS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def resolve_base_url(region: str, base_url: str | None) -> str:
    """The API root for a region, or the explicit `base_url` (proxies, the simulator).

    Plain http is refused except on loopback, so a token is never sent in clear over a network.
    """
    if base_url:
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigurationError(
                f"base_url {base_url!r} is not an http(s) URL; use e.g. https://api.intercom.io"
            )
        if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
            raise ConfigurationError(
                f"base_url {base_url!r} uses plain http for a non-loopback host; the access token would"
                " travel unencrypted. Use https, or http only for 127.0.0.1/localhost."
            )
        return base_url.rstrip("/")
    key = (region or "").strip().lower()
    if key not in settings.REGION_BASE_URLS:
        known = ", ".join(settings.REGION_BASE_URLS)
        raise ConfigurationError(f"Unknown Intercom region {region!r}: use one of {known}, or set base_url.")
    return settings.REGION_BASE_URLS[key]


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


class RateLimiter:
    """Paces requests to Intercom's `X-RateLimit-Limit/-Remaining/-Reset` headers, shared by all threads.

    Intercom spreads its per-minute limit over 10-second windows and reports the window's budget. The
    limiter spends the budget it is told about, counts requests still in flight against it, spreads the
    last `slowdown_fraction` of a window evenly over the time left, and after a 429 holds every thread until
    the window resets.
    """

    def __init__(
        self,
        slowdown_fraction: float = settings.RATE_LIMIT_SLOWDOWN_FRACTION,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._slowdown_fraction = slowdown_fraction
        self._limit: int | None = None
        self._remaining: int | None = None
        self._reset_at: float | None = None
        self._window: int | None = None
        """The `X-RateLimit-Reset` of the window the budget is for; None until heard of after a roll."""
        self._ended_window = 0
        """The reset of the last window that ended: answers still arriving from it say nothing of this one."""
        self._in_flight = 0
        self._next_slot = 0.0
        self.waited_seconds = 0.0

    def acquire(self) -> None:
        """Blocks until a request may be sent."""
        while True:
            with self._lock:
                now = self._clock()
                self._roll_window(now)
                delay = self._delay_before_next(now)
                if delay <= 0:
                    if self._remaining is not None:
                        self._remaining -= 1
                    self._in_flight += 1
                    return
                self.waited_seconds += delay
            self._sleep(delay)

    def release(self, headers: Mapping[str, str] | None, status: int | None) -> None:
        """Records a finished request and what its response said about the budget."""
        with self._lock:
            self._in_flight -= 1
            limit = _int_header(headers, "X-RateLimit-Limit")
            remaining = _int_header(headers, "X-RateLimit-Remaining")
            reset = _int_header(headers, "X-RateLimit-Reset")
            now = self._clock()
            if status == 429:
                self._hold_until_reset(now, reset, _int_header(headers, "Retry-After"))
                return
            if reset is None or remaining is None or not limit:
                return  # no budget reported (a limit of 0 means "unlimited" on some proxies)
            self._limit = limit or self._limit
            budget = remaining - self._in_flight
            if reset <= self._ended_window:
                # sent before the window ended, answered after: its low count once held the next window's
                # requests back to a trickle for the whole window
                return
            if self._window is None or reset > self._window:
                self._window = reset
                self._reset_at = max(float(reset), now + 0.5)
                self._remaining = budget
            else:
                self._remaining = budget if self._remaining is None else min(self._remaining, budget)

    def _hold_until_reset(self, now: float, reset: int | None, retry_after: int | None) -> None:
        resume_at = now + 1.0
        if reset is not None:
            resume_at = max(resume_at, float(reset))
        if retry_after is not None:
            resume_at = max(resume_at, now + retry_after)
        self._reset_at = max(self._reset_at or 0.0, resume_at)
        self._remaining = 0

    def _roll_window(self, now: float) -> None:
        if self._reset_at is not None and now >= self._reset_at:
            self._ended_window = max(self._ended_window, self._window or 0)
            self._window = None
            self._reset_at = None
            self._remaining = self._limit
            self._next_slot = 0.0

    def _delay_before_next(self, now: float) -> float:
        if self._remaining is None or self._reset_at is None:
            return 0.0
        if self._remaining <= 0:
            return self._reset_at - now + random.uniform(0.01, 0.1)
        if self._limit and self._remaining < self._limit * self._slowdown_fraction:
            if now < self._next_slot:
                return self._next_slot - now
            self._next_slot = now + (self._reset_at - now) / self._remaining
        return 0.0


def _int_header(headers: Mapping[str, str] | None, name: str) -> int | None:
    if not headers:
        return None
    value = headers.get(name)
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


class IntercomSession(requests.Session):
    """A requests session that rate-limits, retries transient faults and raises typed errors.

    Response hooks (dlt's raise-for-status) run once, on the final response, not on every attempt.
    Paths in `single_attempt_paths` are never retried here: a failed companies scroll page must restart
    the scroll, which only the caller can do.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        region_hint: str,
        max_attempts: int = settings.MAX_ATTEMPTS,
        backoff_base: float = settings.BACKOFF_BASE_SECONDS,
        pool_size: int = settings.MAX_WORKERS,
    ) -> None:
        super().__init__()
        self.limiter = limiter
        self.region_hint = region_hint
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.single_attempt_paths: set[str] = set()
        self.request_count = 0
        self._proxies: dict[str, dict[str, str]] = {}
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size + 4, max_retries=0)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, parse_body: BodyParser | None = None, **kwargs: Any
    ) -> requests.Response:
        """Sends `request`; with `parse_body` (the Arrow path), its body is read by it."""
        hooks, request.hooks = request.hooks, {"response": []}
        kwargs.setdefault("timeout", (settings.CONNECT_TIMEOUT_SECONDS, settings.READ_TIMEOUT_SECONDS))
        kwargs.setdefault("proxies", self._proxies_for(request))
        try:
            response = self._send_with_retries(request, parse_body, **kwargs)
        finally:
            request.hooks = hooks
        return dispatch_hook("response", hooks, response, **kwargs)

    def _proxies_for(self, request: requests.PreparedRequest) -> dict[str, str]:
        """The proxies for the request's host, from the session and the environment (`HTTPS_PROXY`,
        `NO_PROXY`), resolved once per host: requests resolves them again for every request, which
        cost about a third of a request's CPU."""
        url = urlparse(request.url)
        key = f"{url.scheme}://{url.netloc}"
        if key not in self._proxies:
            self._proxies[key] = resolve_proxies(request, self.proxies, self.trust_env)
        return self._proxies[key]

    def _send_with_retries(
        self, request: requests.PreparedRequest, parse_body: BodyParser | None, **kwargs: Any
    ) -> requests.Response:
        endpoint = f"{request.method} {urlparse(request.url).path}"
        single_attempt = urlparse(request.url).path in self.single_attempt_paths
        attempt = rate_limited = 0
        while True:
            attempt += 1
            failure, response = self._attempt(request, parse_body, **kwargs)
            if response is not None and response.status_code == 429:
                rate_limited += 1
                if rate_limited > settings.MAX_RATE_LIMIT_WAITS:
                    raise TransientError(
                        f"{endpoint} was rate limited {rate_limited} times in a row; another app may be"
                        " using the workspace's budget. Try again later.",
                        status=429,
                        code="rate_limit_exceeded",
                    )
                attempt -= 1  # waiting out the window is not a failed attempt
                continue
            if response is not None and failure is None:
                return response
            if single_attempt or attempt >= self.max_attempts:
                raise TransientError(
                    f"{endpoint} failed after {attempt} attempt(s): {failure}. Intercom or the network"
                    " is having trouble; run the pipeline again later (it resumes where it stopped).",
                    status=response.status_code if response is not None else None,
                )
            delay = min(settings.BACKOFF_MAX_SECONDS, self.backoff_base * 2 ** (attempt - 1))
            logger.warning("%s: %s, retrying in %.2fs (attempt %d)", endpoint, failure, delay, attempt)
            time.sleep(delay * random.uniform(0.5, 1.0))

    def _attempt(
        self, request: requests.PreparedRequest, parse_body: BodyParser | None, **kwargs: Any
    ) -> tuple[str | None, requests.Response | None]:
        """One try. Returns (why it failed transiently or None, the response if any)."""
        self.limiter.acquire()
        response: requests.Response | None = None
        try:
            self.request_count += 1
            response = super().send(request, **{**kwargs, "stream": True})
            if not kwargs.get("stream"):
                _read_whole_body(response)
        except TRANSIENT_EXCEPTIONS as exc:
            return type(exc).__name__, None
        finally:
            self.limiter.release(
                response.headers if response is not None else None,
                _budget_status(response),
            )
        status = response.status_code
        if status == 429 and not _is_export_job_limit(response):
            return "HTTP 429", response
        if status in settings.RETRY_STATUSES:
            return f"HTTP {status}", response
        if status >= 400 and not _parse_json_body(response):
            # an error cut short says nothing for sure (a truncated "scroll already exists" read as a plain
            # 400 failed a whole run): asked again, like a truncated page
            return f"HTTP {status} with a truncated or invalid JSON body", response
        if status >= 400:
            raise self._error_for(response, request)
        if not kwargs.get("stream") and not _parse_json_body(response, parse_body):
            return "truncated or invalid JSON body", response
        return None, response

    def _error_for(self, response: requests.Response, request: requests.PreparedRequest) -> IntercomAPIError:
        code, message = _error_code_and_message(response)
        endpoint = f"{request.method} {urlparse(request.url).path}"
        base = f"{urlparse(request.url).scheme}://{urlparse(request.url).netloc}"
        status = response.status_code
        # `token_unauthorized` is a token "not allowed to access the resource" (Intercom's error codes): a
        # missing app permission, whatever the status, not a wrong token
        if status == 403 or code == "token_unauthorized":
            return PlanRestrictedError(
                f"Intercom refused {endpoint} ({status} {code}: {message}). The workspace's plan or the app's"
                " permissions do not cover it: grant the permission, or deselect the resource.",
                status=status,
                code=code,
                endpoint=endpoint,
            )
        if status == 401:
            return AuthenticationError(
                f"Intercom rejected the access token (401 {code}: {message}) at {base} for region"
                f" '{self.region_hint}'. Check the token (SOURCES__INTERCOM__ACCESS_TOKEN) and that the"
                " workspace lives in that region (us, eu or au).",
                status=status,
                code=code,
            )
        if status == 404:
            return NotFoundError(f"{endpoint}: not found (404 {code})", status=status, code=code)
        if status == 429:  # only the export-job limit gets here (see _is_export_job_limit)
            return ExportJobBusyError(f"{endpoint}: {message}", status=status, code=code)
        return IntercomAPIError(f"{endpoint}: Intercom answered {status} {code}: {message}", status, code)


def _read_whole_body(response: requests.Response) -> None:
    """Reads the body in one call, as `response.content` then gives it.

    requests reads a body 10 KB at a time, and each read takes the GIL back: with the other threads
    parsing pages, a 370 KB page of contacts waited about 170 ms longer for it (25 ms read whole). Read
    errors become requests' own, as `content` raises them (the transient ones are retried).
    """
    try:
        content = response.raw.read(decode_content=True)
    except urllib3.exceptions.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc) from exc
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc
    response._content = content or b""  # what requests' `content` property stores
    response._content_consumed = True


def _parse_json_body(response: requests.Response, parse_body: BodyParser | None = None) -> bool:
    """Parses a JSON body once and pins the result on the response; False if it is truncated or invalid.

    With `parse_body` (the Arrow path) the body is read by it; a body it cannot read is parsed as plain JSON
    instead, and only a body that is no JSON at all fails.
    """
    if "json" not in response.headers.get("Content-Type", "") or not response.content:
        return True
    if parse_body is not None:
        try:
            parse_body(response.content)
            return True
        except BODY_PARSE_ERRORS as exc:
            logger.info("body of %s not read as Arrow (%s); read as rows", response.request.path_url, exc)
    try:
        parsed = json.loadb(response.content)
    except ValueError:
        return False
    response.json = lambda **_: parsed  # type: ignore[method-assign]
    return True


def _is_export_job_limit(response: requests.Response | None) -> bool:
    """A 429 refusing a second content export job, not a rate limit.

    Intercom answers "Exceeded rate limit of 1 pending message data export jobs" while another export job is
    pending: waiting for the rate-limit window would not help, so it is neither held in the limiter nor
    retried here; the export engine waits for that job instead.
    """
    if response is None or response.status_code != 429:
        return False
    return "export job" in _error_code_and_message(response)[1].lower()


def _budget_status(response: requests.Response | None) -> int | None:
    """The status the rate limiter should see: the export-job 429 says nothing about the request budget."""
    if response is None or _is_export_job_limit(response):
        return None
    return response.status_code


def _error_code_and_message(response: requests.Response) -> tuple[str, str]:
    try:
        errors = response.json().get("errors") or [{}]
        return str(errors[0].get("code", "error")), str(errors[0].get("message", ""))
    except (ValueError, AttributeError):
        return "error", response.reason or ""


class IntercomClient:
    """Reads Intercom through dlt's RESTClient. One client per source run; safe to share across threads."""

    def __init__(
        self,
        access_token: str,
        base_url: str,
        *,
        api_version: str = settings.API_VERSION,
        region_hint: str = "us",
        max_workers: int = settings.MAX_WORKERS,
        backoff_base: float = settings.BACKOFF_BASE_SECONDS,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.base_url = base_url
        self.max_workers = max(1, max_workers)
        self.session = IntercomSession(
            limiter or RateLimiter(),
            region_hint=region_hint,
            backoff_base=backoff_base,
            pool_size=self.max_workers + settings.SLICE_CONCURRENCY,
        )
        self.session.single_attempt_paths.add(settings.COMPANIES_SCROLL)
        self.rest = RESTClient(
            base_url=base_url,
            headers={"Intercom-Version": api_version, "Accept": "application/json"},
            auth=BearerTokenAuth(token=access_token),
            session=self.session,
        )
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    @property
    def request_count(self) -> int:
        return self.session.request_count

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.rest.get(path, params=params).json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.rest.post(path, json=body).json()

    def me(self) -> dict[str, Any]:
        """GET /me: the cheapest call that proves the token (and region) work."""
        result: dict[str, Any] = self.get(settings.ME)
        return result

    def get_list(
        self, path: str, data_key: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """An unpaged list endpoint (admins, teams, tags ...)."""
        items: list[dict[str, Any]] = self.get(path, params).get(data_key) or []
        return items

    def search_pages(
        self,
        path: str,
        query: dict[str, Any],
        parse_body: BodyParser | None,
        order: str,
        sort_field: str = "updated_at",
        stop_after: Callable[[ArrowOrJson], bool] | None = None,
        cursor: str | None = None,
    ) -> Iterator[ArrowOrJson]:
        """The pages of one search, in this thread, from the first or the one after `cursor`: one cursor chain
        (callers read it ahead with `read_ahead`); no page is asked for after one `stop_after` accepts."""
        while True:
            page = self.search_page(path, query, parse_body, order, cursor, sort_field)
            # decided before the page is handed on: the caller may convert its rows in place (the row path
            # turns `updated_at` into datetimes, and `stop_after` then read no timestamp and stopped)
            cursor = body_value(page, SEARCH_CURSOR)
            last = not cursor or (stop_after is not None and stop_after(page))
            yield page
            if last:
                return

    def search_page(
        self,
        path: str,
        query: dict[str, Any],
        parse_body: BodyParser | None,
        order: str,
        cursor: str | None = None,
        sort_field: str = "updated_at",
        per_page: int | None = None,
    ) -> ArrowOrJson:
        """One page of a search: the first, or the one after `cursor` (`pages.next.starting_after`)."""
        pagination: dict[str, Any] = {"per_page": per_page or settings.PER_PAGE}
        if cursor:
            pagination["starting_after"] = cursor
        sort = {"field": sort_field, "order": order}
        body = {"query": query, "pagination": pagination, "sort": sort}
        return self.request_body("POST", path, parse_body, json_body=body)

    def request_body(
        self,
        method: str,
        path: str,
        parse_body: BodyParser | None,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
    ) -> ArrowOrJson:
        """One request through the session (limiter, retries, typed errors), its body read by `parse_body`
        (the Arrow path) or, without one or where it could not, decoded as JSON."""
        request = requests.Request(
            method,
            self.base_url + path,
            params=params,
            json=json_body,
            headers=self.rest.headers,
            auth=self.rest.auth,
        )
        prepared = self.session.prepare_request(request)
        read: list[Any] = []  # what `parse_body` made of the body of the attempt that succeeded

        def parse(content: bytes) -> Any:
            assert parse_body is not None
            read.append(parse_body(content))
            return read[-1]

        response = self.session.send(prepared, parse if parse_body is not None else None)
        return read[-1] if read else response.json()

    def cursor_pages(
        self, path: str, data_key: str, params: dict[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """GET lists paged by `starting_after` in the query (GET /contacts, GET /conversations)."""
        paginator = JSONResponseCursorPaginator(
            cursor_path=_path("pages.next.starting_after"), cursor_param="starting_after"
        )
        query = {"per_page": settings.PER_PAGE, **(params or {})}
        yield from self._paginate(path, data_key, paginator, params=query)

    def numbered_pages(
        self, path: str, data_key: str, params: dict[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """GET lists paged by `page`/`per_page` that report `pages.total_pages`."""
        paginator = PageNumberPaginator(
            base_page=1, page_param="page", total_path=_path("pages.total_pages"), stop_after_empty_page=True
        )
        query = {"per_page": settings.PER_PAGE, **(params or {})}
        yield from self._paginate(path, data_key, paginator, params=query)

    def link_pages(
        self, path: str, data_key: str, params: dict[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """GET lists whose `pages.next` is the URL of the next page (GET /events)."""
        paginator = JSONLinkPaginator(next_url_path=_path("pages.next"))
        query = {"per_page": settings.PER_PAGE, **(params or {})}
        yield from self._paginate(path, data_key, paginator, params=query)

    def _paginate(
        self, path: str, data_key: str, paginator: BasePaginator, **kwargs: Any
    ) -> Iterator[list[dict[str, Any]]]:
        for page in self.rest.paginate(path, paginator=paginator, data_selector=_path(data_key), **kwargs):
            yield list(page)

    def fetch_each(
        self, paths: Iterable[str], parse_body: BodyParser | None = None
    ) -> Iterator[ArrowOrJson | None]:
        """GETs many single objects concurrently, in input order; None for one that is gone (404).

        Each body is read by `parse_body` when given (the Arrow path), else decoded as JSON.
        """
        if parse_body is None:
            yield from self.map_concurrently(self.get, list(paths))
            return
        get_body = functools.partial(self.request_body, "GET", parse_body=parse_body)
        yield from self.map_concurrently(get_body, list(paths))

    def map_concurrently(self, func: Callable[[_T], _R], items: Sequence[_T]) -> Iterator[_R | None]:
        """Applies `func` (which makes requests) to every item on the worker pool, results in input order.

        Bounded by `max_workers`; every request still goes through the shared rate limiter. An object
        deleted between listing and fetching (404) gives None for its item and is logged, not raised.
        """
        call = _none_if_missing(func)
        if self.max_workers == 1 or len(items) <= 1:
            yield from map(call, items)
            return
        yield from self._get_executor().map(call, items)

    def submit(self, func: Callable[..., _R], *args: Any) -> Future[_R]:
        """`func(*args)` (which makes requests) started on the worker pool; its result or error waits in the
        future returned."""
        return self._get_executor().submit(func, *args)

    def _get_executor(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix="intercom")
            return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self.session.close()

    def scroll_companies(self, parse_body: BodyParser | None = None) -> Iterator[ArrowOrJson]:
        """All companies through GET /companies/scroll, honouring the scroll's rules.

        Only one scroll may be open per app: while another is open ("scroll already exists"), wait for it
        to expire. A failed page (5xx, reset) or an expired scroll (404 before the end) cannot be resumed,
        so the scroll restarts from scratch; pages already yielded are yielded again and merged on `id`.
        The end is the first empty page. Yields the bodies, read by `parse_body` when given (the Arrow path),
        else decoded as JSON.
        """
        restarts = 0
        busy_since: float | None = None
        while True:
            try:
                yield from read_ahead(self._scroll_once(parse_body))
                return
            except ScrollBusyError as exc:
                busy_since = busy_since or time.monotonic()
                if time.monotonic() - busy_since > settings.SCROLL_BUSY_MAX_WAIT_SECONDS:
                    raise TransientError(
                        f"{exc} for more than {settings.SCROLL_BUSY_MAX_WAIT_SECONDS:.0f}s: another"
                        " process is scrolling companies with this app. Run again when it has finished."
                    ) from exc
                logger.warning(
                    "companies scroll busy (%s); waiting %.0fs", exc, settings.SCROLL_BUSY_WAIT_SECONDS
                )
                time.sleep(settings.SCROLL_BUSY_WAIT_SECONDS)
            except (TransientError, NotFoundError) as exc:
                restarts += 1
                if restarts > settings.SCROLL_MAX_RESTARTS:
                    raise
                logger.warning("companies scroll broke (%s); restarting it from scratch", exc)

    def _scroll_once(self, parse_body: BodyParser | None) -> Iterator[ArrowOrJson]:
        params: dict[str, str] = {}
        while True:
            try:
                body = self.request_body("GET", settings.COMPANIES_SCROLL, parse_body, params=params)
            except IntercomAPIError as exc:
                if exc.status == 400 and "scroll already exists" in str(exc).lower():
                    raise ScrollBusyError(str(exc)) from exc
                raise
            if body_list_length(body, ("data",)) == 0:
                return
            yield body
            scroll_param = body_value(body, ("scroll_param",))
            if not scroll_param:
                raise TransientError(f"GET {settings.COMPANIES_SCROLL}: page without scroll_param")
            params = {"scroll_param": scroll_param}


SEARCH_CURSOR: Final = ("pages", "next", "starting_after")


def read_ahead(items: Iterator[_T], depth: int = settings.READ_AHEAD_PAGES) -> Iterator[_T]:
    """`items`, produced by a background thread at most `depth` items ahead of the caller.

    For cursor-paged lists, whose next request needs this page's cursor: the request and parsing of the
    next page (both mostly outside the GIL: the socket, pyarrow's JSON reader) overlap the caller's work
    on this one. Errors reach the caller in order; when the caller stops, the thread stops after at most
    the request it is making.
    """
    return merge_ahead([items], 1, depth)


class _Steps(Generic[_S]):
    """The steps of `work_through` waiting or running, taken smallest `order` first."""

    def __init__(self, first: Iterable[_S], order: Callable[[_S], Any]) -> None:
        self.order = order
        self.heap: list[tuple[Any, int, _S]] = []
        self.added = itertools.count()
        self.running = 0
        self.changed = threading.Condition()
        self.add(first)

    def add(self, steps: Iterable[_S]) -> None:
        with self.changed:
            for step in steps:
                heapq.heappush(self.heap, (self.order(step), next(self.added), step))
            self.changed.notify_all()

    def take(self, stopped: threading.Event) -> _S | None:
        """The next step to run, waiting while running ones may still add some; None when all are done."""
        with self.changed:
            while not self.heap and self.running and not stopped.is_set():
                self.changed.wait(0.1)
            if stopped.is_set() or not self.heap:
                return None
            self.running += 1
            return heapq.heappop(self.heap)[2]

    def finish(self) -> bool:
        """Marks a step done; True when it was the last of all."""
        with self.changed:
            self.running -= 1
            self.changed.notify_all()
            return not self.running and not self.heap


def work_through(
    first: Iterable[_S],
    do: Callable[[_S], tuple[_T | None, Sequence[_S]]],
    workers: int,
    order: Callable[[_S], Any],
    depth: int | None = None,
) -> Iterator[_T]:
    """What `do` makes of every step, run on `workers` background threads: each call returns an item (None:
    nothing to pass on) and the steps that follow it, queued at once; waiting steps run smallest `order`
    first. Items come in the order they are made, at most `depth` (default `workers`) of them waiting
    unread.

    The first error of any step reaches the caller; when the caller stops, every thread stops after at
    most the step it is running.
    """
    steps = _Steps(first, order)
    if not steps.heap:
        return
    handoff = _Handoff(depth or workers)
    offer = handoff.offer

    def work() -> None:
        while (step := steps.take(handoff.stopped)) is not None:
            try:
                item, following = do(step)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                offer("error", exc)
                return
            steps.add(following)
            if item is not None and not offer("item", item):
                return
            if steps.finish():
                offer("done", None)

    for _ in range(max(1, workers)):
        threading.Thread(target=work, name="intercom-steps", daemon=True).start()
    try:
        while True:
            kind, value = handoff.items.get()
            if kind == "error":
                raise value
            if kind == "done":
                return
            yield value
    finally:
        handoff.stopped.set()


class _Handoff:
    """What background threads pass to the caller's thread: ("item" | "done" | "error", value) in a bounded
    queue, and whether the caller has stopped reading."""

    def __init__(self, depth: int) -> None:
        self.items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
        self.stopped = threading.Event()

    def offer(self, kind: str, value: Any) -> bool:
        """Waits for room; False once the caller has stopped."""
        while not self.stopped.is_set():
            try:
                self.items.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


def merge_ahead(chains: Sequence[Iterator[_T]], workers: int, depth: int | None = None) -> Iterator[_T]:
    """The items of every chain, each chain run by one of `workers` background threads (a chain at a time
    per thread), merged in the order they come; at most `depth` (default `workers`) items wait unread.

    The first error of any chain reaches the caller; when the caller stops, every thread stops after at
    most the request it is making.
    """
    handoff = _Handoff(depth or workers)
    offer, stopped = handoff.offer, handoff.stopped
    todo: queue.SimpleQueue[Iterator[_T]] = queue.SimpleQueue()
    for chain in chains:
        todo.put(chain)

    def run_one(chain: Iterator[_T]) -> bool:
        try:
            for item in chain:
                if not offer("item", item):
                    return False
            return offer("done", None)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            offer("error", exc)
            return False
        finally:
            close = getattr(chain, "close", None)
            if close is not None:
                close()

    def work() -> None:
        while not stopped.is_set():
            try:
                chain = todo.get_nowait()
            except queue.Empty:
                return
            if not run_one(chain):
                return

    for _ in range(max(1, min(workers, len(chains)))):
        threading.Thread(target=work, name="intercom-read-ahead", daemon=True).start()
    try:
        finished = 0
        while finished < len(chains):
            kind, value = handoff.items.get()
            if kind == "error":
                raise value
            if kind == "done":
                finished += 1
                continue
            yield value
    finally:
        stopped.set()


@functools.lru_cache(maxsize=64)
def _path(expression: str) -> jsonpath.JSONPath:
    """A compiled JSON path: jsonpath_ng builds a parser per compile, which cost a quarter of the CPU of
    a contacts load when dlt compiled the data selector for every page."""
    return jsonpath.compile_path(expression)


def _none_if_missing(func: Callable[[_T], _R]) -> Callable[[_T], _R | None]:
    def call(item: _T) -> _R | None:
        try:
            return func(item)
        except NotFoundError as exc:
            logger.warning("%s; it disappeared after it was listed, skipped", exc)
            return None

    return call


class ScrollBusyError(IntercomAPIError):
    """Another companies scroll is open for this app."""


class ExportJobBusyError(IntercomAPIError):
    """429: the workspace's one content export job is taken (by another tool, or left by a killed run)."""


__all__ = [
    "ExportJobBusyError",
    "IntercomClient",
    "IntercomSession",
    "RateLimiter",
    "ScrollBusyError",
    "resolve_base_url",
]


def make_client(
    access_token: str,
    region: str = "us",
    base_url: str | None = None,
    api_version: str = settings.API_VERSION,
    max_workers: int = settings.MAX_WORKERS,
    retry_backoff_seconds: float = settings.BACKOFF_BASE_SECONDS,
) -> IntercomClient:
    """A client for the region (or `base_url`); validates both before any request is made."""
    if not access_token or not str(access_token).strip():
        raise ConfigurationError(
            "No Intercom access token: set SOURCES__INTERCOM__ACCESS_TOKEN or access_token in"
            " .dlt/secrets.toml ([sources.intercom])."
        )
    return IntercomClient(
        str(access_token).strip(),
        resolve_base_url(region, base_url),
        api_version=api_version,
        region_hint=region,
        max_workers=max_workers,
        backoff_base=retry_backoff_seconds,
    )
