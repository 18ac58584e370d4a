"""Spec-shaped rendering: truncation of embedded lists and part lists, and pre-serialized JSON bytes.

Each object is serialized once and its bytes are cached in `ws.bytes_cache` until a mutation drops them;
pages are sent as the list of cached chunks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from .workspace import JSON, Workspace

EMBEDDED_LIMIT = 10  # contact tags/notes/companies/subscriptions: "Up to 10 will be displayed here"
PARTS_LIMIT = 500  # conversation/ticket parts: "we will return the 500 most recent"

_CONTACT_LISTS = ("tags", "notes", "companies", "opted_out_subscription_types", "opted_in_subscription_types")


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def truncated_list(embedded: JSON) -> JSON:
    data = embedded["data"]
    return {
        **embedded,
        "data": data[:EMBEDDED_LIMIT],
        "total_count": len(data),
        "has_more": len(data) > EMBEDDED_LIMIT,
    }


def contact_view(contact: JSON) -> JSON:
    view = dict(contact)
    for key in _CONTACT_LISTS:
        view[key] = truncated_list(contact[key])
    return view


def newest_parts(parts_list: JSON, key: str) -> JSON:
    parts = parts_list[key]
    return {"type": parts_list["type"], key: parts[-PARTS_LIMIT:], "total_count": len(parts)}


def conversation_list_item(conversation: JSON) -> JSON:
    return {k: v for k, v in conversation.items() if k != "conversation_parts"}


def conversation_full(conversation: JSON) -> JSON:
    return {
        **conversation,
        "conversation_parts": newest_parts(conversation["conversation_parts"], "conversation_parts"),
    }


def ticket_full(ticket: JSON) -> JSON:
    return {**ticket, "ticket_parts": newest_parts(ticket["ticket_parts"], "ticket_parts")}


def cached(ws: Workspace, kind: str, obj: JSON, view: Callable[[JSON], JSON] | None = None) -> bytes:
    key = (kind, obj["id"])
    blob = ws.bytes_cache.get(key)
    if blob is None:
        blob = dumps(view(obj) if view else obj)
        ws.bytes_cache[key] = blob
    return blob


def warm(ws: Workspace) -> None:
    """Serializes every contact, company, conversation and ticket now, as the first request of each would.

    For benchmarks: a client reading each object once then measures the connector, not the simulator's
    first serialization of each object (about 40 µs of a contact, on the cores the client also uses).
    """
    with ws.lock:
        for contact in ws.contacts.values():
            contact_bytes(ws, contact)
        for company in ws.companies.values():
            company_bytes(ws, company)
        for conversation in ws.conversations.values():
            conversation_item_bytes(ws, conversation)
            conversation_full_bytes(ws, conversation)
        for ticket in ws.tickets.values():
            ticket_bytes(ws, ticket)


def contact_bytes(ws: Workspace, contact: JSON) -> bytes:
    return cached(ws, "contact", contact, contact_view)


def company_bytes(ws: Workspace, company: JSON) -> bytes:
    return cached(ws, "company", company)


def conversation_item_bytes(ws: Workspace, conversation: JSON) -> bytes:
    return cached(ws, "conversation:list", conversation, conversation_list_item)


def conversation_full_bytes(ws: Workspace, conversation: JSON) -> bytes:
    return cached(ws, "conversation:full", conversation, conversation_full)


def ticket_bytes(ws: Workspace, ticket: JSON) -> bytes:
    return cached(ws, "ticket", ticket, ticket_full)


Chunks = list[bytes]


def join_array(blobs: Iterable[bytes]) -> Chunks:
    """A JSON array as a list of chunks. Pages are written with scatter-gather I/O, never concatenated:
    copying a 300 KB page a few times costs more than everything else in a request."""
    chunks = [b"["]
    for blob in blobs:
        chunks.append(blob)
        chunks.append(b",")
    if len(chunks) > 1:
        chunks.pop()
    chunks.append(b"]")
    return chunks


def envelope(head: JSON, array_key: str, items: Chunks, tail: JSON | None = None) -> Chunks:
    """`{...head, array_key: <items>, ...tail}` without re-serializing the (already serialized) items."""
    prefix = dumps(head)[:-1] + (b"," if head else b"") + dumps(array_key) + b":"
    suffix = (b"," + dumps(tail)[1:-1] if tail else b"") + b"}"
    return [prefix, *items, suffix]


def cursor_pages(page: int, per_page: int, total: int, next_cursor: str | None) -> JSON:
    total_pages = max(1, -(-total // per_page)) if per_page else 1
    pages: JSON = {"type": "pages", "page": page, "per_page": per_page, "total_pages": total_pages}
    if next_cursor is not None:
        pages["next"] = {"page": page + 1, "per_page": per_page, "starting_after": next_cursor}
    return pages


def numbered_pages(page: int, per_page: int, total: int, *, null_next: bool = False) -> JSON:
    """`pages` of a page/per_page list (cursor_pages schema).

    `null_next`: the last page says `next: null`, as the spec's examples of activity logs, contact notes,
    GET /companies and POST /companies/list show it. Lists whose examples show no `next` (articles,
    collections, help centers, news, company contacts) leave it out. Before the last page `next` is left out
    everywhere: what it holds there is undocumented (cursor_pages types it as a `starting_after` cursor,
    which a page-numbered list has none of); clients page these lists by `total_pages`.
    """
    total_pages = max(1, -(-total // per_page))
    if null_next and page >= total_pages:
        return {"type": "pages", "next": None, "page": page, "per_page": per_page, "total_pages": total_pages}
    return {"type": "pages", "page": page, "per_page": per_page, "total_pages": total_pages}


def error_body(status_code: str, message: str, request_id: str, field: str | None = None) -> bytes:
    error: JSON = {"code": status_code, "message": message}
    if field is not None:
        error["field"] = field
    return dumps({"type": "error.list", "request_id": request_id, "errors": [error]})
