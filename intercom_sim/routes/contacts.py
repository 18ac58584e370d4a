"""Contacts.

GET /contacts (cursor), POST /contacts/search, GET /contacts/{id} and its tags, notes, companies, segments and
subscriptions.
"""

from __future__ import annotations

from .. import render
from ..api import Request, Response, not_found, ok, page_slice, per_page_of
from ..render import dumps, envelope, join_array
from ..search import CONTACT_MODEL
from ..workspace import JSON, Workspace
from .cursors import CursorLists


def contact_or_404(ws: Workspace, cid: str) -> JSON:
    """A live contact (archived, merged and deleted ones are gone: 404 "User Not Found")."""
    contact = ws.contacts.get(cid)
    if contact is None:
        raise not_found("not_found", "User Not Found")
    return contact


class ContactRoutes(CursorLists):
    """The contact endpoints."""

    def list_contacts(self, req: Request) -> Response:
        per_page = per_page_of(req, 50)
        results = self._results("contacts:list", CONTACT_MODEL, lambda obj: True, None, visible_only=False)
        return ok(
            self._cursor_page(
                req.query.get("starting_after"),
                per_page,
                False,
                results,
                self._contact_items,
                {"type": "list"},
                "data",
            )
        )

    def search_contacts(self, req: Request) -> Response:
        return self._search(
            req,
            CONTACT_MODEL,
            50,
            {"type": "list"},
            "data",
            self._contact_items,
        )

    def _contact_items(self, ids: list[str]) -> list[bytes]:
        # .get: a contact removed by a concurrent mutation after the result set was built is skipped.
        contacts = (self.ws.contacts.get(i) for i in ids)
        return join_array(render.contact_bytes(self.ws, c) for c in contacts if c is not None)

    def get_contact(self, req: Request) -> Response:
        return ok(render.contact_bytes(self.ws, contact_or_404(self.ws, req.params["id"])))

    def contact_tags(self, req: Request) -> Response:
        contact = contact_or_404(self.ws, req.params["id"])
        # Each tag with when and by whom it was applied to this contact, as the spec's example shows.
        return ok(dumps({"type": "list", "data": self.ws.contact_tags(contact["id"])}))

    def contact_notes(self, req: Request) -> Response:
        notes = self.ws.contact_notes(contact_or_404(self.ws, req.params["id"])["id"])
        notes.sort(key=lambda n: (-n["created_at"], -int(n["id"])))
        items, page, per_page = page_slice(req, notes, 50)
        return ok(
            dumps(
                {
                    "type": "list",
                    "data": items,
                    "total_count": len(notes),
                    "pages": render.numbered_pages(page, per_page, len(notes), null_next=True),
                }
            )
        )

    def contact_companies(self, req: Request) -> Response:
        cid = contact_or_404(self.ws, req.params["id"])["id"]
        companies = [self.ws.companies[c] for c in self.ws.contact_company_ids(cid) if c in self.ws.companies]
        items, page, per_page = page_slice(req, companies, 50)
        total_pages = max(1, -(-len(companies) // per_page))
        next_url = (
            f"{self.base_url}/contacts/{cid}/companies?page={page + 1}&per_page={per_page}"
            if page < total_pages
            else None
        )
        # The schema names the array `companies`; the spec's example (the real API) uses `data`.
        pages = {
            "type": "pages",
            "next": next_url,
            "page": page,
            "per_page": per_page,
            "total_pages": total_pages,
        }
        body = envelope(
            {"type": "list"},
            "data",
            join_array(render.company_bytes(self.ws, c) for c in items),
            {"pages": pages, "total_count": len(companies)},
        )
        return ok(body)

    def contact_segments(self, req: Request) -> Response:
        cid = contact_or_404(self.ws, req.params["id"])["id"]
        return ok(
            dumps({"type": "list", "data": [self.ws.segments[s] for s in self.ws.contact_segment_ids(cid)]})
        )

    def contact_subscriptions(self, req: Request) -> Response:
        cid = contact_or_404(self.ws, req.params["id"])["id"]
        data = [self.ws.subscription_types[s] for s, _ in self.ws.contact_subscriptions(cid)]
        return ok(dumps({"type": "list", "data": data}))
