"""Every read endpoint of the simulator answers what Intercom's 2.11 OpenAPI spec allows.

One named test case per endpoint of the contract's endpoint table (docs/simulator-contract.md) plus the error
responses. Each case fetches real responses from a running simulator (pages 2+, nested search queries, a
contact with more than 10 tags, a conversation with more than 500 parts, export jobs in each status) and
validates every body with tests/spec_validation.py. A missing endpoint or an unusable simulator FAILS.

Validation does not notice a property left out (the schemas make most of them optional), so the objects in
`COMPLETE_OBJECTS` must also carry every property their schema declares or the spec's examples of them show
(`spec_validation.missing_properties`); page-numbered lists whose examples end with `next: null` must too.

Within a case all schema mismatches are collected and reported together; a wrong HTTP status stops the case.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests

try:
    from tests.spec_validation import missing_properties, operation_for, validate_response
except ModuleNotFoundError:  # plain `pytest` run without the repository root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.spec_validation import missing_properties, operation_for, validate_response

TOKEN = "spec-conformance-token"
WORKSPACE = {"seed": 3, "contacts": 60, "companies": 20, "conversations": 30, "tickets": 15}
JSON_HEADERS = {"Accept": "application/json", "Intercom-Version": "2.11"}
FAR_PAST = 0
_MISSING_ID = "0000000000000000deadbeef"

_NEWS = frozenset({"news_item", "newsfeed_assignment"})
COMPLETE_OBJECTS: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/conversations"): frozenset({"conversation_list_item"}),
    ("POST", "/conversations/search"): frozenset({"conversation_list_item"}),
    ("GET", "/conversations/{conversation_id}"): frozenset({"conversation"}),
    ("GET", "/articles"): frozenset({"article_list_item"}),
    ("GET", "/articles/{article_id}"): frozenset({"article", "article_statistics"}),
    ("GET", "/contacts/{contact_id}/tags"): frozenset({"tag"}),
    ("GET", "/news/news_items"): _NEWS,
    ("GET", "/news/news_items/{news_item_id}"): _NEWS,
    ("GET", "/news/newsfeeds/{newsfeed_id}/items"): _NEWS,
}
"""(method, spec path template) -> the component schemas whose objects in its 200 responses must be complete.

Not every object is complete in the simulator or the real API: a tag has `applied_at`/`applied_by` only as
applied to something, an article list item has no `statistics`, a page-numbered list has `pages.next` only
where its examples show it (docs/simulator-contract.md)."""


# ----------------------------------------------------------------------------------------------------------
# Simulator fixture (session-scoped; named to stay clear of tests/sim/conftest.py)
# ----------------------------------------------------------------------------------------------------------


@dataclass
class SimHandle:
    server: Any = None
    ws: Any = None
    error: str | None = None


@pytest.fixture(scope="session")
def spec_sim() -> Iterator[SimHandle]:
    try:
        import intercom_sim

        ws = intercom_sim.Workspace(**WORKSPACE)
        server = intercom_sim.start(ws, port=0, token=TOKEN, latency_ms=0, rate_limit=0)
    except Exception as exc:  # reported as a failure of every case, see `Client.connect`
        yield SimHandle(error=f"intercom_sim could not be started: {exc!r}")
        return
    try:
        yield SimHandle(server=server, ws=ws)
    finally:
        server.stop()


# ----------------------------------------------------------------------------------------------------------
# HTTP client that validates every response
# ----------------------------------------------------------------------------------------------------------


@dataclass
class Client:
    server: Any
    ws: Any
    session: requests.Session = field(default_factory=requests.Session)
    failures: list[str] = field(default_factory=list)
    responses: int = 0
    last_status: int = 0

    @classmethod
    def connect(cls, handle: SimHandle) -> Client:
        if handle.error is not None:
            pytest.fail(handle.error, pytrace=False)
        return cls(handle.server, handle.ws)

    @property
    def knobs(self) -> Any:
        return self.server.knobs

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        expect: int | tuple[int, ...] = 200,
        headers: dict[str, str] | None = None,
        auth: str | None = TOKEN,
        octet: bool = False,
    ) -> Any:
        """Request `method path`; assert the status; validate the body against the spec; return it parsed."""
        request_headers = {**JSON_HEADERS, **(headers or {})}
        if auth is not None:
            request_headers["Authorization"] = f"Bearer {auth}"
        if octet:
            request_headers["Accept"] = "application/octet-stream"
        url = self.server.base_url + path
        resp = self.session.request(method, url, json=body, headers=request_headers, timeout=30)
        self.responses += 1
        self.last_status = resp.status_code
        if resp.status_code not in (expect if isinstance(expect, tuple) else (expect,)):
            missing = " (endpoint not implemented?)" if resp.status_code in (404, 405, 501) else ""
            earlier = "".join(f"\n\nearlier schema mismatch: {f}" for f in self.failures)
            pytest.fail(
                f"{method} {path}: expected HTTP {expect}, simulator answered {resp.status_code}{missing}: "
                f"{resp.text[:300]!r}{earlier}",
                pytrace=False,
            )
        if octet:
            return resp.content
        try:
            parsed = resp.json()
        except ValueError:
            pytest.fail(f"{method} {path}: body is not JSON: {resp.text[:300]!r}", pytrace=False)
        try:
            validate_response(method, path, resp.status_code, parsed)
        except AssertionError as exc:
            self.failures.append(f"{method} {path}\n{exc}")
        operation = operation_for(method, path)
        components = COMPLETE_OBJECTS.get((operation.method, operation.template))
        if components and resp.status_code == 200:
            missing = missing_properties(method, path, resp.status_code, parsed, components)
            if missing:
                more = f" (+{len(missing) - 10} more)" if len(missing) > 10 else ""
                self.failures.append(
                    f"{method} {path}\n{len(missing)} propert(ies) of {sorted(components)} left out: "
                    + ", ".join(missing[:10])
                    + more
                )
        return parsed

    def follow(self, url: str, method: str = "GET") -> Any:
        """Request a `pages.next` URL; it must point back at the simulator."""
        parts = urlsplit(url)
        if parts.netloc and parts.netloc != urlsplit(self.server.base_url).netloc:
            pytest.fail(f"pages.next points away from the simulator: {url}", pytrace=False)
        return self.call(method, parts.path + (f"?{parts.query}" if parts.query else ""))

    def assert_conforms(self) -> None:
        assert self.responses > 0, "the case made no request"
        if self.failures:
            joined = "\n\n".join(self.failures)
            raise AssertionError(f"{len(self.failures)} response(s) do not match the spec:\n\n{joined}")


# ----------------------------------------------------------------------------------------------------------
# Pagination walkers
# ----------------------------------------------------------------------------------------------------------


def _next_cursor(page: Any) -> str | None:
    nxt = (page.get("pages") or {}).get("next")
    return nxt.get("starting_after") if isinstance(nxt, dict) else None


def walk_query_cursor(client: Client, path: str, per_page: int, max_pages: int = 20) -> list[Any]:
    pages = [client.call("GET", f"{path}?{urlencode({'per_page': per_page})}")]
    while (cursor := _next_cursor(pages[-1])) and len(pages) < max_pages:
        pages.append(
            client.call("GET", f"{path}?{urlencode({'per_page': per_page, 'starting_after': cursor})}")
        )
    return pages


def walk_search(client: Client, path: str, query: Any, per_page: int, max_pages: int = 20) -> list[Any]:
    body: dict[str, Any] = {
        "query": query,
        "pagination": {"per_page": per_page},
        "sort": {"field": "updated_at", "order": "ascending"},
    }
    pages = [client.call("POST", path, body=body)]
    while (cursor := _next_cursor(pages[-1])) and len(pages) < max_pages:
        body["pagination"] = {"per_page": per_page, "starting_after": cursor}
        pages.append(client.call("POST", path, body=body))
    return pages


def walk_page_numbers(
    client: Client,
    method: str,
    path: str,
    per_page: int,
    extra: dict[str, Any] | None = None,
    max_pages: int = 20,
) -> list[Any]:
    """page/per_page lists; follows `pages.next` when it is a URL, else asks for page + 1."""
    params = {**(extra or {}), "per_page": per_page}
    page_no = 1
    pages = [client.call(method, f"{path}?{urlencode({**params, 'page': page_no})}")]
    while len(pages) < max_pages:
        meta = pages[-1].get("pages") or {}
        if isinstance(meta.get("next"), str):
            pages.append(client.follow(meta["next"], method))
        elif page_no < int(meta.get("total_pages") or 0):
            page_no += 1
            pages.append(client.call(method, f"{path}?{urlencode({**params, 'page': page_no})}"))
        else:
            break
    return pages


def _require_pages(pages: list[Any], minimum: int = 2) -> None:
    assert len(pages) >= minimum, f"expected at least {minimum} pages to exercise page 2+, got {len(pages)}"


def _last_page_says_no_next(pages: list[Any]) -> None:
    """The last page carries `pages.next` as null, as the spec's examples of these lists show it."""
    last = pages[-1].get("pages") or {}
    assert "next" in last, f"the last page leaves out pages.next: {last}"
    assert last["next"] is None, f"the last page's pages.next is {last['next']!r}, not null"


# ----------------------------------------------------------------------------------------------------------
# Workspace picks (and, where the seed has none, mutations that create the interesting case)
# ----------------------------------------------------------------------------------------------------------


def first_id(store: dict[str, Any]) -> str:
    assert store, "workspace store is empty"
    return next(iter(store))


def busiest(ids: list[str], size: Callable[[str], int]) -> str:
    return max(ids, key=size)


def contact_with_many_tags(ws: Any) -> str:
    cid = busiest(list(ws.contacts), lambda c: len(ws.contact_tag_ids(c)))
    for tag_id in list(ws.tags):
        if len(ws.contact_tag_ids(cid)) > 10:
            break
        if tag_id not in ws.contact_tag_ids(cid):
            ws.tag_contact(cid, tag_id)
    assert len(ws.contact_tag_ids(cid)) > 10, "workspace has too few tags"
    return cid


def contact_with_many_notes(ws: Any) -> str:
    cid = busiest(list(ws.contacts), lambda c: len(ws.contact_notes(c)))
    while len(ws.contact_notes(cid)) <= 10:
        ws.add_note(cid, "<p>spec conformance note ✓</p>")
    return cid


def contact_with_many_companies(ws: Any) -> str:
    cid = busiest(list(ws.contacts), lambda c: len(ws.contact_company_ids(c)))
    for company_id in list(ws.companies):
        if len(ws.contact_company_ids(cid)) > 10:
            break
        if company_id not in ws.contact_company_ids(cid):
            ws.attach_company(cid, company_id)
    assert len(ws.contact_company_ids(cid)) > 10, "workspace has too few companies"
    return cid


def conversation_with_many_parts(ws: Any) -> str:
    conv_id = busiest(list(ws.conversations), lambda c: len(ws.conversation_parts(c)))
    while len(ws.conversation_parts(conv_id)) <= 500:
        ws.add_conversation_part(conv_id, body="<p>part</p>")
    return conv_id


# ----------------------------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------------------------

CASES: dict[str, Callable[[Client], None]] = {}


def case(name: str) -> Callable[[Callable[[Client], None]], Callable[[Client], None]]:
    def register(fn: Callable[[Client], None]) -> Callable[[Client], None]:
        assert name not in CASES, name
        CASES[name] = fn
        return fn

    return register


# -- cursor in query -------------------------------------------------------------------------------------


@case("GET /contacts")
def _contacts_list(c: Client) -> None:
    _require_pages(walk_query_cursor(c, "/contacts", per_page=25), 3)


def _no_ticket(pages: list[Any]) -> None:
    """Conversations carry `ticket: null`: every example does; a non-null one is undocumented (contract)."""
    conversations = [conv for page in pages for conv in page["conversations"]]
    assert conversations and all("ticket" in conv and conv["ticket"] is None for conv in conversations)


@case("GET /conversations")
def _conversations_list(c: Client) -> None:
    pages = walk_query_cursor(c, "/conversations", per_page=10)
    _require_pages(pages, 3)
    _no_ticket(pages)


# -- search ------------------------------------------------------------------------------------------------


@case("POST /contacts/search")
def _contacts_search(c: Client) -> None:
    nested = {
        "operator": "AND",
        "value": [
            {
                "operator": "OR",
                "value": [
                    {"field": "role", "operator": "=", "value": "user"},
                    {"field": "role", "operator": "=", "value": "lead"},
                ],
            },
            {"field": "created_at", "operator": ">", "value": FAR_PAST},
        ],
    }
    _require_pages(walk_search(c, "/contacts/search", nested, per_page=20), 3)
    tag_id = c.ws.contact_tag_ids(contact_with_many_tags(c.ws))[0]
    walk_search(c, "/contacts/search", {"field": "tag_id", "operator": "=", "value": tag_id}, per_page=50)
    walk_search(c, "/contacts/search", {"field": "email", "operator": "~", "value": "@"}, per_page=150)
    walk_search(c, "/contacts/search", {"field": "id", "operator": "=", "value": _MISSING_ID}, per_page=5)


@case("POST /conversations/search")
def _conversations_search(c: Client) -> None:
    nested = {
        "operator": "AND",
        "value": [
            {"field": "updated_at", "operator": ">", "value": FAR_PAST},
            {
                "operator": "OR",
                "value": [
                    {"field": "state", "operator": "IN", "value": ["open", "snoozed"]},
                    {"field": "state", "operator": "=", "value": "closed"},
                ],
            },
        ],
    }
    pages = walk_search(c, "/conversations/search", nested, per_page=10)
    _require_pages(pages, 3)
    _no_ticket(pages)


@case("POST /tickets/search")
def _tickets_search(c: Client) -> None:
    nested = {
        "operator": "AND",
        "value": [
            {"field": "created_at", "operator": ">", "value": FAR_PAST},
            {
                "operator": "OR",
                "value": [
                    {"field": "open", "operator": "=", "value": True},
                    {"field": "open", "operator": "=", "value": False},
                ],
            },
        ],
    }
    _require_pages(walk_search(c, "/tickets/search", nested, per_page=5), 3)


# -- page / per_page ---------------------------------------------------------------------------------------


@case("POST /companies/list")
def _companies_list(c: Client) -> None:
    pages = walk_page_numbers(c, "POST", "/companies/list", per_page=5)
    _require_pages(pages)
    _last_page_says_no_next(pages)


@case("GET /companies")
def _companies_find(c: Client) -> None:
    pages = walk_page_numbers(c, "GET", "/companies", per_page=7)
    _require_pages(pages, 3)
    _last_page_says_no_next(pages)
    company = c.ws.companies[first_id(c.ws.companies)]
    found = c.call("GET", "/companies?" + urlencode({"company_id": company["company_id"]}))
    assert [co["id"] for co in found["data"]] == [company["id"]]
    _last_page_says_no_next([found])


@case("POST /companies/list 400 page limit")
def _companies_list_page_limit(c: Client) -> None:
    c.call("POST", "/companies/list?" + urlencode({"page": 300, "per_page": 50}), expect=400)


@case("GET /companies/{id}/contacts")
def _company_contacts(c: Client) -> None:
    company_id = busiest(list(c.ws.companies), lambda co: c.ws.companies[co].get("user_count") or 0)
    _require_pages(walk_page_numbers(c, "GET", f"/companies/{company_id}/contacts", per_page=1))


@case("GET /contacts/{id}/companies")
def _contact_companies(c: Client) -> None:
    cid = contact_with_many_companies(c.ws)
    _require_pages(walk_page_numbers(c, "GET", f"/contacts/{cid}/companies", per_page=4))


@case("GET /contacts/{id}/notes")
def _contact_notes(c: Client) -> None:
    cid = contact_with_many_notes(c.ws)
    pages = walk_page_numbers(c, "GET", f"/contacts/{cid}/notes", per_page=4)
    _require_pages(pages, 3)
    _last_page_says_no_next(pages)


@case("GET /articles")
def _articles(c: Client) -> None:
    pages = walk_page_numbers(c, "GET", "/articles", per_page=6)
    _require_pages(pages, 3)
    with_statistics = [a["id"] for page in pages for a in page["data"] if "statistics" in a]
    assert not with_statistics, f"list items carry statistics (contract: they do not): {with_statistics}"


@case("GET /help_center/collections")
def _collections(c: Client) -> None:
    _require_pages(walk_page_numbers(c, "GET", "/help_center/collections", per_page=3), 3)


@case("GET /help_center/help_centers")
def _help_centers(c: Client) -> None:
    _require_pages(walk_page_numbers(c, "GET", "/help_center/help_centers", per_page=1))


@case("GET /news/news_items")
def _news_items(c: Client) -> None:
    pages = walk_page_numbers(c, "GET", "/news/news_items", per_page=4)
    _require_pages(pages, 3)
    items = [item for page in pages for item in page["data"]]
    live = [item for item in items if item["state"] == "live"]
    assert live and all(item["newsfeed_assignments"] for item in live), "a live item is on no newsfeed"


@case("GET /admins/activity_logs")
def _activity_logs(c: Client) -> None:
    window = {"created_at_after": FAR_PAST, "created_at_before": c.ws.clock.now()}
    pages = walk_page_numbers(c, "GET", "/admins/activity_logs", per_page=50, extra=window)
    _require_pages(pages, 3)
    _last_page_says_no_next(pages)
    c.call("GET", "/admins/activity_logs?" + urlencode({"created_at_after": FAR_PAST}))


# -- scroll ------------------------------------------------------------------------------------------------


def walk_scroll(c: Client, first: Any) -> list[Any]:
    """Follow a scroll to its empty page; the spent scroll_param then answers 404."""
    pages = [first]
    while pages[-1].get("data") and len(pages) < 50:
        pages.append(
            c.call("GET", "/companies/scroll?" + urlencode({"scroll_param": pages[-1]["scroll_param"]}))
        )
    assert not pages[-1].get("data"), "scroll did not end"
    spent = pages[-1].get("scroll_param") or pages[-2].get("scroll_param")
    c.call("GET", "/companies/scroll?" + urlencode({"scroll_param": spent}), expect=404)
    return pages


@case("GET /companies/scroll")
def _scroll(c: Client) -> None:
    _require_pages(walk_scroll(c, c.call("GET", "/companies/scroll")))


@case("GET /companies/scroll 400 scroll exists")
def _scroll_exists(c: Client) -> None:
    first = c.call("GET", "/companies/scroll")
    c.call("GET", "/companies/scroll", expect=400)
    walk_scroll(c, first)  # closes the scroll for later cases


# -- events ------------------------------------------------------------------------------------------------


@case("GET /events")
def _events(c: Client) -> None:
    cid = first_id(c.ws.contacts)
    for name in ("spec-conformance-a", "spec-conformance-b", "spec-conformance-c"):
        c.ws.add_event(cid, name)
    params = {"type": "user", "intercom_user_id": cid, "per_page": 2}
    pages = [c.call("GET", "/events?" + urlencode(params))]
    while isinstance((nxt := (pages[-1].get("pages") or {}).get("next")), str) and len(pages) < 20:
        pages.append(c.follow(nxt))
    _require_pages(pages)
    _last_page_says_no_next(pages)
    c.call("GET", "/events?" + urlencode({**params, "summary": "true"}))


# -- unpaged lists -----------------------------------------------------------------------------------------


def _simple(path: str) -> Callable[[Client], None]:
    def run(c: Client) -> None:
        c.call("GET", path)

    return run


for _path in ("/me", "/admins", "/teams", "/tags", "/subscription_types", "/ticket_types", "/news/newsfeeds"):
    case(f"GET {_path}")(_simple(_path))


@case("GET /segments")
def _segments(c: Client) -> None:
    c.call("GET", "/segments")
    c.call("GET", "/segments?include_count=true")


@case("GET /data_attributes")
def _data_attributes(c: Client) -> None:
    for model in ("contact", "company", "conversation"):
        c.call("GET", f"/data_attributes?model={model}")
    c.call("GET", "/data_attributes")


@case("GET /contacts/{id}/tags")
def _contact_tags(c: Client) -> None:
    cid = contact_with_many_tags(c.ws)
    body = c.call("GET", f"/contacts/{cid}/tags")
    assert len(body.get("data", [])) > 10, "the tags sub-resource is not truncated to 10"
    for tag in body["data"]:
        assert isinstance(tag.get("applied_at"), int), tag
        assert (tag.get("applied_by") or {}).get("type") == "admin" and tag["applied_by"].get("id"), tag


@case("GET /contacts/{id}/segments")
def _contact_segments(c: Client) -> None:
    cid = busiest(list(c.ws.contacts), lambda x: len(c.ws.contact_segment_ids(x)))
    c.call("GET", f"/contacts/{cid}/segments")


@case("GET /contacts/{id}/subscriptions")
def _contact_subscriptions(c: Client) -> None:
    cid = busiest(list(c.ws.contacts), lambda x: len(c.ws.contact_subscriptions(x)))
    c.call("GET", f"/contacts/{cid}/subscriptions")


@case("GET /companies/{id}/segments")
def _company_segments(c: Client) -> None:
    company_id = busiest(list(c.ws.companies), lambda x: len(c.ws.company_segment_ids(x)))
    c.call("GET", f"/companies/{company_id}/segments")


# -- single objects ----------------------------------------------------------------------------------------


@case("GET /contacts/{id}")
def _contact(c: Client) -> None:
    many_tags = contact_with_many_tags(c.ws)
    special = [many_tags, contact_with_many_notes(c.ws), contact_with_many_companies(c.ws)]
    for cid in dict.fromkeys([*special, *list(c.ws.contacts)]):
        body = c.call("GET", f"/contacts/{cid}")
        if cid == many_tags:
            assert body["tags"]["has_more"] is True and len(body["tags"]["data"]) == 10


@case("GET /companies/{id}")
def _company(c: Client) -> None:
    for company_id in list(c.ws.companies):
        c.call("GET", f"/companies/{company_id}")


@case("GET /conversations/{id}")
def _conversation(c: Client) -> None:
    big = conversation_with_many_parts(c.ws)
    body = c.call("GET", f"/conversations/{big}")
    assert "ticket" in body and body["ticket"] is None
    parts = body["conversation_parts"]
    assert len(parts["conversation_parts"]) == 500 and parts["total_count"] > 500
    c.call("GET", f"/conversations/{big}?display_as=plaintext")
    for conv_id in list(c.ws.conversations)[:10]:
        c.call("GET", f"/conversations/{conv_id}")


@case("GET /tickets/{id}")
def _ticket(c: Client) -> None:
    for ticket_id in list(c.ws.tickets):
        c.call("GET", f"/tickets/{ticket_id}")


def _each(path: str, store: str, limit: int = 10) -> Callable[[Client], None]:
    def run(c: Client) -> None:
        for obj_id in list(getattr(c.ws, store))[:limit]:
            c.call("GET", path.format(id=obj_id))

    return run


for _path, _store in (
    ("/admins/{id}", "admins"),
    ("/teams/{id}", "teams"),
    ("/tags/{id}", "tags"),
    ("/segments/{id}", "segments"),
    ("/notes/{id}", "notes"),
    ("/articles/{id}", "articles"),
    ("/help_center/collections/{id}", "collections"),
    ("/help_center/help_centers/{id}", "help_centers"),
    ("/news/news_items/{id}", "news_items"),
    ("/news/newsfeeds/{id}", "newsfeeds"),
    ("/news/newsfeeds/{id}/items", "newsfeeds"),
    ("/ticket_types/{id}", "ticket_types"),
):
    case(f"GET {_path}")(_each(_path, _store))


# -- data export -------------------------------------------------------------------------------------------


def _export_range(c: Client) -> dict[str, int]:
    now = c.ws.clock.now()
    return {"created_at_after": now - 2 * 365 * 86400, "created_at_before": now}


def _export_status(c: Client, job: str) -> str:
    return str(c.call("GET", f"/export/content/data/{job}")["status"])


@case("data export: pending -> in_progress -> completed, download")
def _export_lifecycle(c: Client) -> None:
    # phases of 1.5 s each: 0.1 s polls see every one, also on a loaded machine (0.25 s ones were missed)
    delay, c.knobs.export_delay_seconds = c.knobs.export_delay_seconds, 3.0
    try:
        job = c.call("POST", "/export/content/data", body=_export_range(c))
        seen = [str(job["status"])]
        deadline = time.monotonic() + 20
        while seen[-1] in ("pending", "in_progress") and time.monotonic() < deadline:
            time.sleep(0.1)
            seen.append(_export_status(c, job["job_identifier"]))
    finally:
        c.knobs.export_delay_seconds = delay
    assert {"pending", "in_progress", "completed"} <= set(seen), f"statuses seen: {seen}"
    data = c.call("GET", f"/download/content/data/{job['job_identifier']}", octet=True)
    assert data[:2] == b"\x1f\x8b", "download is not gzip"


@case("data export: canceled")
def _export_cancel(c: Client) -> None:
    job = c.call("POST", "/export/content/data", body=_export_range(c))
    canceled = c.call("POST", f"/export/cancel/{job['job_identifier']}")
    assert canceled["status"] == "canceled"
    assert _export_status(c, job["job_identifier"]) == "canceled"


@case("data export: 429 one active job")
def _export_one_job(c: Client) -> None:
    job = c.call("POST", "/export/content/data", body=_export_range(c))
    try:
        c.call("POST", "/export/content/data", body=_export_range(c), expect=429)
    finally:
        c.call("POST", f"/export/cancel/{job['job_identifier']}")


@case("data export: empty range")
def _export_empty(c: Client) -> None:
    delay, c.knobs.export_delay_seconds = c.knobs.export_delay_seconds, 0.2
    try:
        job = c.call("POST", "/export/content/data", body={"created_at_after": 1, "created_at_before": 2})
        deadline = time.monotonic() + 5
        status = str(job["status"])
        while status in ("pending", "in_progress") and time.monotonic() < deadline:
            time.sleep(0.1)
            status = _export_status(c, job["job_identifier"])
        assert status in ("no_data", "completed"), status
    finally:
        c.knobs.export_delay_seconds = delay


# -- errors ------------------------------------------------------------------------------------------------


@case("401 unauthorized")
def _unauthorized(c: Client) -> None:
    c.call("GET", "/contacts", auth="not-the-token", expect=401)
    c.call("GET", "/contacts", auth=None, expect=401)
    c.call(
        "POST", "/contacts/search", body={"query": {}, "pagination": {"per_page": 1}}, auth="x", expect=401
    )
    c.call("GET", "/me", auth="x", expect=401)


@case("404 not found")
def _not_found(c: Client) -> None:
    for path in (
        f"/contacts/{_MISSING_ID}",
        f"/companies/{_MISSING_ID}",
        "/conversations/999999999",
        "/tickets/999999999",
        "/admins/999999999",
        f"/notes/{_MISSING_ID}",
        f"/contacts/{_MISSING_ID}/tags",
        "/export/content/data/no-such-job",
    ):
        c.call("GET", path, expect=404)


@case("404 deleted contact")
def _deleted_contact(c: Client) -> None:
    cid = c.ws.create_contact(email="spec-conformance@example.com")
    c.call("GET", f"/contacts/{cid}")
    c.ws.delete_contact(cid)
    c.call("GET", f"/contacts/{cid}", expect=404)


@case("403 api_plan_restricted")
def _plan_restricted(c: Client) -> None:
    conv_id = first_id(c.ws.conversations)
    c.knobs.plan_restricted = frozenset({"GET /conversations", "GET /conversations/{id}"})
    try:
        body = c.call("GET", "/conversations", expect=403)
        assert body["errors"][0]["code"] == "api_plan_restricted"
        c.call("GET", f"/conversations/{conv_id}", expect=403)
    finally:
        c.knobs.plan_restricted = frozenset()


@case("403 token_unauthorized")
def _missing_permission(c: Client) -> None:
    c.knobs.missing_permissions = frozenset({"GET /events"})
    try:
        body = c.call("GET", "/events?type=user&intercom_user_id=x", expect=403)
        assert body["errors"][0]["code"] == "token_unauthorized"
    finally:
        c.knobs.missing_permissions = frozenset()


@case("429 rate_limit_exceeded")
def _rate_limited(c: Client) -> None:
    c.knobs.rate_limit = 6  # one request per 10-second window
    try:
        statuses: list[int] = []
        while len(statuses) < 3 and 429 not in statuses:
            c.call("GET", "/tags", expect=(200, 429))
            statuses.append(c.last_status)
        assert statuses[-1] == 429, f"no 429 after {statuses}"
        body = c.call("GET", "/contacts", expect=429)
        assert body["errors"][0]["code"] == "rate_limit_exceeded"
    finally:
        c.knobs.rate_limit = 0


@case("5xx transient faults")
def _faults(c: Client) -> None:
    kinds, c.knobs.fault_kinds = c.knobs.fault_kinds, ("500", "502", "503")
    c.knobs.fault_rate = 1.0
    try:
        for _ in range(6):  # the kind is drawn at random; every 5xx body must be an error.list
            c.call("GET", "/tags", expect=(500, 502, 503))
    finally:
        c.knobs.fault_rate = 0.0
        c.knobs.fault_kinds = kinds


@case("406 not acceptable")
def _not_acceptable(c: Client) -> None:
    c.call("GET", "/contacts", headers={"Accept": "text/html"}, expect=406)


# ----------------------------------------------------------------------------------------------------------
# The test
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_conforms_to_spec(name: str, spec_sim: SimHandle) -> None:
    client = Client.connect(spec_sim)
    try:
        CASES[name](client)
        client.assert_conforms()
    finally:
        client.session.close()


def test_complete_objects_name_spec_operations() -> None:
    for method, template in COMPLETE_OBJECTS:
        assert operation_for(method, template).template == template, (method, template)
