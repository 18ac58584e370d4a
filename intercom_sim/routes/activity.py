"""Notes, events and admin activity logs: GET /notes/{id}, GET /events, GET /admins/activity_logs."""

from __future__ import annotations

from urllib.parse import urlencode

from .. import render
from ..api import ApiError, Request, Response, SimParts, lookup, not_found, ok, page_slice, per_page_of
from ..render import dumps
from ..workspace import JSON
from .contacts import contact_or_404

EVENTS_MAX_AGE = 90 * 86_400


class ActivityRoutes(SimParts):
    """What contacts and admins did: notes, events (90 days only), activity logs."""

    def get_note(self, req: Request) -> Response:
        note = lookup(self.ws.notes, req.params["id"])
        if note["contact"]["id"] not in self.ws.contacts:
            raise not_found()
        return ok(dumps(note))

    def list_events(self, req: Request) -> Response:
        if req.query.get("type") != "user":
            raise ApiError(400, "parameter_invalid", "type must be user", "type")
        contact = self._event_contact(req.query)
        per_page = per_page_of(req, 50)
        horizon = (
            self.ws.clock.now() - EVENTS_MAX_AGE
        )  # "you can only 'list' events that are less than 90 days old"
        events = sorted(
            (e for e in self.ws.contact_events(contact["id"]) if e["created_at"] >= horizon),
            key=lambda e: (-e["created_at"], -int(e["id"])),
        )
        head = {
            "type": "event.summary",
            "email": contact["email"],
            "intercom_user_id": contact["id"],
            "user_id": contact["external_id"] or "",
        }
        if req.query.get("summary") == "true":
            return ok(dumps({**head, "events": _event_summaries(events)}))
        start = req.int_param("starting_after", 0)
        page = events[start : start + per_page]
        # `next`: the next page's URL; null on the last page, as the page lists' examples show theirs
        pages: JSON = {"next": None}
        if start + per_page < len(events):
            query = {k: v for k, v in req.query.items() if k != "starting_after"}
            pages["next"] = (
                f"{self.base_url}/events?{urlencode({**query, 'starting_after': start + per_page})}"
            )
        # 2.11 declares data_event_summary for this response. The real items are data_event objects; each also
        # carries the data_event_summary_item fields (one event: count 1) so that it satisfies the schema.
        events_json = [
            {
                **e,
                "name": e["event_name"],
                "first": str(e["created_at"]),
                "last": str(e["created_at"]),
                "count": 1,
            }
            for e in page
        ]
        return ok(dumps({**head, "events": events_json, "pages": pages}))

    def _event_contact(self, query: dict[str, str]) -> JSON:
        if "intercom_user_id" in query:
            return contact_or_404(self.ws, query["intercom_user_id"])
        key, field_name = (
            ("user_id", "external_id")
            if "user_id" in query
            else ("email", "email")
            if "email" in query
            else (None, None)
        )
        if key is None or field_name is None:
            raise ApiError(
                400, "parameter_not_found", "one of intercom_user_id, user_id or email is required"
            )
        for contact in self.ws.contacts.values():
            if contact[field_name] == query[key]:
                return contact
        raise not_found("not_found", "User Not Found")

    def list_activity_logs(self, req: Request) -> Response:
        after = req.query.get("created_at_after")
        if after is None:
            raise ApiError(400, "parameter_not_found", "created_at_after is required", "created_at_after")
        low = req.int_param("created_at_after", 0)
        high = req.int_param("created_at_before", 2**62)
        logs = sorted(
            (log for log in self.ws.activity_logs.values() if low <= log["created_at"] <= high),
            key=lambda log: (-log["created_at"], log["id"]),
        )
        items, page, per_page = page_slice(req, logs, 20)
        return ok(
            dumps(
                {
                    "type": "activity_log.list",
                    "pages": render.numbered_pages(page, per_page, len(logs), null_next=True),
                    "activity_logs": items,
                }
            )
        )


def _event_summaries(events: list[JSON]) -> list[JSON]:
    by_name: dict[str, list[int]] = {}
    for event in events:
        by_name.setdefault(event["event_name"], []).append(event["created_at"])
    return [
        {
            "name": name,
            "first": str(min(times)),
            "last": str(max(times)),
            "count": len(times),
            "description": "",
        }
        for name, times in by_name.items()
    ]
