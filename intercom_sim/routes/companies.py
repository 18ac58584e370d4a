"""Companies.

GET /companies (find), POST /companies/list, GET /companies/scroll, GET /companies/{id} and its contacts and
segments.

One open scroll per app: a second one is refused (400) while the first is live; it expires after
`scroll_ttl_seconds` idle; its end is an empty page, after which the parameter is gone (404).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from .. import render
from ..api import ApiError, Request, Response, SimParts, not_found, ok, page_slice, per_page_of
from ..render import dumps, envelope, join_array
from ..search import value_key
from ..workspace import JSON


@dataclass
class Scroll:
    param: str
    company_ids: list[str]
    position: int = 0
    last_used: float = 0.0
    finished: bool = False


class CompanyRoutes(SimParts):
    """The company endpoints, and the companies scroll."""

    _scroll: Scroll | None  # the app's open scroll

    def _companies_list_limit(self) -> int:
        """How far POST /companies/list pages (SimServer reads `server.COMPANIES_LIST_LIMIT`)."""
        raise NotImplementedError

    def _company(self, company_id: str) -> JSON:
        company = self.ws.companies.get(company_id)
        if company is None:
            raise not_found("company_not_found", "Company Not Found")
        return company

    def get_company(self, req: Request) -> Response:
        return ok(render.company_bytes(self.ws, self._company(req.params["id"])))

    def find_companies(self, req: Request) -> Response:
        matches = list(self.ws.companies.values())
        if "company_id" in req.query:
            matches = [c for c in matches if c["company_id"] == req.query["company_id"]]
        if "name" in req.query:
            matches = [c for c in matches if c["name"] == req.query["name"]]
        if "tag_id" in req.query:
            matches = [c for c in matches if any(t["id"] == req.query["tag_id"] for t in c["tags"]["tags"])]
        if "segment_id" in req.query:
            seg = req.query["segment_id"]
            matches = [c for c in matches if seg in self.ws.company_segments.get(c["id"], ())]
        if not matches and any(k in req.query for k in ("company_id", "name")):
            raise not_found("company_not_found", "Company Not Found")
        items, page, per_page = page_slice(req, matches, 15)
        return self._company_page(items, page, per_page, len(matches))

    def list_companies(self, req: Request) -> Response:
        body = req.json()
        page = max(1, req.int_param("page", 1, body))
        per_page = per_page_of(req, 15, body)
        order = str(body.get("order", req.query.get("order", "desc")))
        if (page - 1) * per_page >= self._companies_list_limit():
            raise ApiError(400, "bad_request", "page limit reached, please use scroll API")
        # Companies with no associated users are not returned (spec).
        with_users = [c for c in self.ws.companies.values() if c["user_count"] > 0]
        with_users.sort(
            key=lambda c: (value_key(c["last_request_at"]), len(c["id"]), c["id"]), reverse=order != "asc"
        )
        items = with_users[(page - 1) * per_page : page * per_page]
        return self._company_page(items, page, per_page, len(with_users))

    def _company_page(self, items: list[JSON], page: int, per_page: int, total: int) -> Response:
        """A page-numbered page of companies; `next` is null on the last page, as the spec shows it."""
        return ok(
            envelope(
                {"type": "list"},
                "data",
                join_array(render.company_bytes(self.ws, c) for c in items),
                {"pages": render.numbered_pages(page, per_page, total, null_next=True), "total_count": total},
            )
        )

    def scroll_companies(self, req: Request) -> Response:
        param = req.query.get("scroll_param")
        with self._state_lock:
            scroll = self._live_scroll()
            if not param:
                if scroll is not None:
                    raise ApiError(400, "bad_request", "scroll already exists for this app")
                scroll = Scroll(
                    uuid.UUID(int=self._export_rng.getrandbits(128), version=4).hex, list(self.ws.companies)
                )
                self._scroll = scroll
            elif scroll is None or scroll.param != param or scroll.finished:
                raise not_found("not_found", "scroll parameter not found")
            scroll.last_used = time.monotonic()
            ids = scroll.company_ids[scroll.position : scroll.position + self.knobs.scroll_page_size]
            scroll.position += len(ids)
            if not ids:
                scroll.finished = True  # the end: an empty page; the parameter is then gone (404)
                self._scroll = None
        companies = [self.ws.companies[i] for i in ids if i in self.ws.companies]
        return ok(
            envelope(
                {"type": "list"},
                "data",
                join_array(render.company_bytes(self.ws, c) for c in companies),
                {"pages": None, "total_count": None, "scroll_param": scroll.param},
            )
        )

    def _live_scroll(self) -> Scroll | None:
        scroll = self._scroll
        if scroll is not None and time.monotonic() - scroll.last_used > self.knobs.scroll_ttl_seconds:
            self._scroll = scroll = None
        return scroll

    def _abort_scroll(self) -> None:
        with self._state_lock:
            self._scroll = None

    def company_contacts(self, req: Request) -> Response:
        company = self._company(req.params["id"])
        cids = [c for c in self.ws.company_contacts.get(company["id"], []) if c in self.ws.contacts]
        items, page, per_page = page_slice(req, cids, 50)
        return ok(
            envelope(
                {"type": "list"},
                "data",
                join_array(render.contact_bytes(self.ws, self.ws.contacts[c]) for c in items),
                {"total_count": len(cids), "pages": render.numbered_pages(page, per_page, len(cids))},
            )
        )

    def company_segments(self, req: Request) -> Response:
        company = self._company(req.params["id"])
        segs = [self.ws.segments[s] for s in self.ws.company_segment_ids(company["id"])]
        return ok(dumps({"type": "list", "data": segs}))
