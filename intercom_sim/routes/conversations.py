"""Conversations and tickets.

GET /conversations (cursor), POST /conversations/search, GET /conversations/{id}, POST /tickets/search,
GET /tickets/{id}, GET /ticket_types[/{id}].
"""

from __future__ import annotations

from .. import render
from ..api import Request, Response, lookup, not_found, ok, per_page_of
from ..render import dumps, join_array
from ..search import CONVERSATION_MODEL, TICKET_MODEL
from .cursors import CursorLists


class ConversationRoutes(CursorLists):
    """The conversation, ticket and ticket type endpoints."""

    def list_conversations(self, req: Request) -> Response:
        per_page = per_page_of(req, 20)
        results = self._results(
            "conversations:list", CONVERSATION_MODEL, lambda obj: True, None, visible_only=False
        )
        return ok(
            self._cursor_page(
                req.query.get("starting_after"),
                per_page,
                False,
                results,
                self._conversation_items,
                {"type": "conversation.list"},
                "conversations",
            )
        )

    def _conversation_items(self, ids: list[str]) -> bytes:
        return join_array(render.conversation_item_bytes(self.ws, self.ws.conversations[i]) for i in ids)

    def search_conversations(self, req: Request) -> Response:
        return self._search(
            req,
            CONVERSATION_MODEL,
            20,
            {"type": "conversation.list"},
            "conversations",
            self._conversation_items,
        )

    def get_conversation(self, req: Request) -> Response:
        conversation = self.ws.conversations.get(req.params["id"])
        if conversation is None:
            raise not_found("not_found", "Resource Not Found")
        return ok(render.conversation_full_bytes(self.ws, conversation))

    # ------------------------------------------------------------------------------------------------ tickets

    def search_tickets(self, req: Request) -> Response:
        # The spec's examples show ticket search results with their ticket_parts (newest 500).
        return self._search(
            req,
            TICKET_MODEL,
            20,
            {"type": "ticket.list"},
            "tickets",
            lambda ids: join_array(render.ticket_bytes(self.ws, self.ws.tickets[i]) for i in ids),
        )

    def get_ticket(self, req: Request) -> Response:
        ticket = self.ws.tickets.get(req.params["id"])
        if ticket is None:
            raise not_found("ticket_not_found", "Ticket not found")
        return ok(render.ticket_bytes(self.ws, ticket))

    def list_ticket_types(self, req: Request) -> Response:
        # Schema: {type: "ticket_type_attributes.list", ticket_types: [...]}; example (real API): list/data.
        return ok(dumps({"type": "list", "data": list(self.ws.ticket_types.values())}))

    def get_ticket_type(self, req: Request) -> Response:
        return ok(dumps(lookup(self.ws.ticket_types, req.params["id"])))
