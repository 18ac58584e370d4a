"""Every paging style returns each id exactly once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sim_client import Client

from intercom_sim import Workspace


def _follow_cursor_query(client: Client, path: str, key: str, per_page: int) -> list[str]:
    ids: list[str] = []
    url = f"{path}?per_page={per_page}"
    while True:
        page = client.ok("GET", url)
        ids += [item["id"] for item in page[key]]
        nxt = page["pages"].get("next")
        if not nxt:
            return ids
        url = f"{path}?per_page={per_page}&starting_after={nxt['starting_after']}"


def _follow_cursor_body(
    client: Client, path: str, key: str, body: dict[str, Any], per_page: int
) -> list[str]:
    ids: list[str] = []
    pagination: dict[str, Any] = {"per_page": per_page}
    while True:
        page = client.ok("POST", path, {**body, "pagination": pagination})
        ids += [item["id"] for item in page[key]]
        nxt = page["pages"].get("next")
        if not nxt:
            assert page["total_count"] == len(ids)
            return ids
        pagination = {"per_page": per_page, "starting_after": nxt["starting_after"]}


def _follow_pages(fetch: Callable[[int], dict[str, Any]], key: str = "data") -> list[str]:
    ids: list[str] = []
    page_no = 1
    while True:
        page = fetch(page_no)
        ids += [item["id"] for item in page[key]]
        if page_no >= page["pages"]["total_pages"]:
            return ids
        page_no += 1


def _exactly_once(ids: list[str], expected: set[str]) -> None:
    assert len(ids) == len(set(ids)), "duplicates"
    assert set(ids) == expected


def test_get_contacts_cursor(client: Client, shared_ws: Workspace) -> None:
    _exactly_once(_follow_cursor_query(client, "/contacts", "data", 37), set(shared_ws.contacts))


def test_get_conversations_cursor(client: Client, shared_ws: Workspace) -> None:
    _exactly_once(
        _follow_cursor_query(client, "/conversations", "conversations", 9), set(shared_ws.conversations)
    )


def test_search_cursors_all_sort_orders(client: Client, shared_ws: Workspace) -> None:
    everything = {"query": {"field": "updated_at", "operator": ">", "value": 0}}
    for order in ("ascending", "descending"):
        for field in ("updated_at", "last_seen_at", "name", "custom_attributes.MRR"):
            body = {**everything, "sort": {"field": field, "order": order}}
            ids = _follow_cursor_body(client, "/contacts/search", "data", body, 23)
            _exactly_once(ids, set(shared_ws.contacts))
        body = {**everything, "sort": {"field": "updated_at", "order": order}}
        _exactly_once(
            _follow_cursor_body(client, "/conversations/search", "conversations", body, 7),
            set(shared_ws.conversations),
        )
        _exactly_once(
            _follow_cursor_body(client, "/tickets/search", "tickets", body, 4), set(shared_ws.tickets)
        )


def test_search_sort_order_is_respected(client: Client) -> None:
    body = {
        "query": {"field": "updated_at", "operator": ">", "value": 0},
        "sort": {"field": "updated_at", "order": "descending"},
        "pagination": {"per_page": 150},
    }
    values = [c["updated_at"] for c in client.ok("POST", "/contacts/search", body)["data"]]
    assert values == sorted(values, reverse=True)


def test_companies_list_pages(client: Client, shared_ws: Workspace) -> None:
    ids = _follow_pages(lambda n: client.ok("POST", f"/companies/list?page={n}&per_page=7"))
    _exactly_once(ids, {c["id"] for c in shared_ws.companies.values() if c["user_count"] > 0})


def test_companies_scroll(client: Client, shared_ws: Workspace) -> None:
    ids: list[str] = []
    page = client.ok("GET", "/companies/scroll")
    while page["data"]:
        ids += [c["id"] for c in page["data"]]
        page = client.ok("GET", f"/companies/scroll?scroll_param={page['scroll_param']}")
    _exactly_once(ids, set(shared_ws.companies))


def test_page_number_lists(client: Client, shared_ws: Workspace) -> None:
    company = max(shared_ws.companies, key=lambda c: len(shared_ws.company_contacts[c]))
    ids = _follow_pages(lambda n: client.ok("GET", f"/companies/{company}/contacts?page={n}&per_page=3"))
    _exactly_once(ids, set(shared_ws.company_contacts[company]))
    contact = max(shared_ws.contacts, key=lambda c: len(shared_ws.contact_notes(c)))
    ids = _follow_pages(lambda n: client.ok("GET", f"/contacts/{contact}/notes?page={n}&per_page=4"))
    _exactly_once(ids, {n["id"] for n in shared_ws.contact_notes(contact)})
    ids = _follow_pages(lambda n: client.ok("GET", f"/contacts/{contact}/companies?page={n}&per_page=4"))
    _exactly_once(ids, set(shared_ws.contact_company_ids(contact)))
    _exactly_once(
        _follow_pages(lambda n: client.ok("GET", f"/articles?page={n}&per_page=6")), set(shared_ws.articles)
    )
    _exactly_once(
        _follow_pages(lambda n: client.ok("GET", f"/help_center/collections?page={n}&per_page=3")),
        set(shared_ws.collections),
    )
    _exactly_once(
        _follow_pages(lambda n: client.ok("GET", f"/news/news_items?page={n}&per_page=3")),
        set(shared_ws.news_items),
    )
    logs = _follow_pages(
        lambda n: client.ok("GET", f"/admins/activity_logs?created_at_after=0&page={n}&per_page=30"),
        "activity_logs",
    )
    _exactly_once(logs, set(shared_ws.activity_logs))


def test_events_follow_next_url(client: Client, shared_ws: Workspace) -> None:
    horizon = shared_ws.clock.now() - 90 * 86_400
    contact = max(shared_ws.contacts, key=lambda c: len(shared_ws.contact_events(c)))
    expected = {e["id"] for e in shared_ws.contact_events(contact) if e["created_at"] >= horizon}
    ids: list[str] = []
    page = client.ok("GET", f"/events?type=user&intercom_user_id={contact}&per_page=1")
    while True:
        ids += [e["id"] for e in page["events"]]
        if not page["pages"].get("next"):
            break
        page = client.ok("GET", page["pages"]["next"])
    _exactly_once(ids, expected)


def test_unpaged_lists(client: Client, shared_ws: Workspace) -> None:
    assert {a["id"] for a in client.ok("GET", "/admins")["admins"]} == set(shared_ws.admins)
    assert {t["id"] for t in client.ok("GET", "/teams")["teams"]} == set(shared_ws.teams)
    assert {t["id"] for t in client.ok("GET", "/tags")["data"]} == set(shared_ws.tags)
    assert {s["id"] for s in client.ok("GET", "/segments")["segments"]} == set(shared_ws.segments)
    assert {s["id"] for s in client.ok("GET", "/subscription_types")["data"]} == set(
        shared_ws.subscription_types
    )
    assert {t["id"] for t in client.ok("GET", "/ticket_types")["data"]} == set(shared_ws.ticket_types)


def test_cursor_survives_updates_between_pages(fresh: Any) -> None:
    ws, _, client = fresh
    body: dict[str, Any] = {
        "query": {"field": "updated_at", "operator": ">", "value": 0},
        "sort": {"field": "updated_at", "order": "ascending"},
        "pagination": {"per_page": 10},
    }
    first = client.ok("POST", "/contacts/search", body)
    seen = [c["id"] for c in first["data"]]
    not_yet_seen = [c for c in ws.contacts if c not in seen]
    ws.clock.advance(3 * 86_400)
    ws.update_contact(not_yet_seen[0], name="moved to the end")  # moves later: must still come exactly once
    cursor = first["pages"]["next"]["starting_after"]
    while cursor:
        page = client.ok(
            "POST", "/contacts/search", {**body, "pagination": {"per_page": 10, "starting_after": cursor}}
        )
        seen += [c["id"] for c in page["data"]]
        cursor = (page["pages"].get("next") or {}).get("starting_after")
    _exactly_once(seen, set(ws.contacts))
