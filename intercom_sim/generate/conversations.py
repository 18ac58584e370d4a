"""Generated conversations with their parts, ticket types, and tickets with their parts.

`_gen_conversation`, `_append_part`, `_gen_ticket` and `_append_ticket_part` also serve the mutations.
"""

from __future__ import annotations

from typing import Any

from ..state import DAY, JSON
from .base import GeneratorBase
from .vocabulary import PART_TYPES, SOURCE_TYPES, TICKET_CATEGORIES, TICKET_STATES


class ConversationGenerator(GeneratorBase):
    """Conversations (some with more than 500 parts on purpose) and tickets."""

    # conversations ------------------------------------------------------------------------------------------

    def _gen_conversation(
        self, contact_id: str | None = None, created: int | None = None, n_parts: int | None = None
    ) -> str:
        r = self.rng
        conv_id = str(self._next("conversation", 1))
        contact = self.contacts[contact_id] if contact_id else self._random_contact()
        created = created if created is not None else self._past()
        admin = self.admins[r.choice(self.admin_ids)]
        state = r.choice(["open", "closed", "closed", "snoozed"])
        contact_author = {
            "type": "user" if contact and contact["role"] == "user" else "lead",
            "id": contact["id"] if contact else "",
            "name": contact["name"] if contact else None,
            "email": contact["email"] if contact else "",
        }
        tags = [
            {**self._tag_basic(t), "applied_at": created, "applied_by": {"type": "admin", "id": admin["id"]}}
            for t in r.sample(self.tag_ids, min(len(self.tag_ids), r.choice([0, 0, 1, 2])))
        ]
        rated = r.random() < 0.2
        conversation: JSON = {
            "type": "conversation",
            "id": conv_id,
            "title": r.choice([None, None, "Billing question", "Ошибка при входе", "Help 🙏 " + "!" * 50]),
            "created_at": created,
            "updated_at": created,
            "waiting_since": created if state == "open" and r.random() < 0.5 else None,
            "snoozed_until": created + DAY if state == "snoozed" else None,
            "open": state != "closed",
            "state": state,
            "read": r.random() < 0.7,
            "priority": r.choice(["priority", "not_priority", "not_priority"]),
            "admin_assignee_id": int(admin["id"]) if r.random() < 0.7 else None,
            "team_assignee_id": int(r.choice(list(self.teams))) if self.teams and r.random() < 0.5 else None,
            "tags": {"type": "tag.list", "tags": tags},
            "conversation_rating": {
                "rating": r.randint(1, 5),
                "remark": r.choice(["", "Great 👍", "meh"]),
                "created_at": created + 3600,
                "contact": {
                    "type": "contact",
                    "id": contact_author["id"],
                    "external_id": contact["external_id"] if contact else None,
                },
                "teammate": {"type": "admin", "id": admin["id"]},
            }
            if rated
            else None,
            "source": {
                "type": r.choice(SOURCE_TYPES),
                "id": str(400_000_000 + int(conv_id)),
                "delivered_as": r.choice(["customer_initiated", "admin_initiated", "automated"]),
                "subject": r.choice(["", "Re: invoice #42", "Ünïcødé subject ✉️"]),
                "body": "<p>" + self._words(r.randint(3, 40)) + "</p>",
                "author": contact_author,
                "attachments": [],
                "url": r.choice([None, "https://app.sim.test/pricing"]),
                "redacted": False,
            },
            "contacts": {
                "type": "contact.list",
                "contacts": [{"type": "contact", "id": contact["id"], "external_id": contact["external_id"]}]
                if contact
                else [],
            },
            "teammates": {"type": "admin.list", "teammates": [{"type": "admin", "id": admin["id"]}]},
            "custom_attributes": self._custom_attributes("conversation"),
            "topics": {},
            # Every conversation example of the spec has `ticket: null` and no schema declares the field, so
            # its non-null shape (a conversation that is a ticket) is undocumented: the simulator's
            # conversations are never tickets (those live in `tickets`). docs/simulator-contract.md.
            "ticket": None,
            "first_contact_reply": {"created_at": created, "type": "conversation", "url": None},
            "sla_applied": {
                "type": "conversation_sla_summary",
                "sla_name": "First reply 1h",
                "sla_status": r.choice(["hit", "missed", "active"]),
            }
            if r.random() < 0.2
            else None,
            "statistics": self._statistics(created, admin["id"]),
            "linked_objects": {"type": "list", "data": [], "total_count": 0, "has_more": False},
            "ai_agent_participated": False,
            "ai_agent": None,
            "conversation_parts": {
                "type": "conversation_part.list",
                "conversation_parts": [],
                "total_count": 0,
            },
        }
        if r.random() < 0.1:
            conversation["ai_agent_participated"] = True
            conversation["ai_agent"] = {
                "source_type": "workflow",
                "source_title": "Fin ✨",
                "last_answer_type": "ai_answer",
                "resolution_state": "assumed_resolution",
                "rating": None,
                "rating_remark": None,
                "content_sources": {"type": "content_source.list", "total_count": 0, "content_sources": []},
            }
        self.conversations[conv_id] = conversation
        if n_parts is None:
            # ~2% random, plus every 50th for sure, so that even small workspaces have some over the cap
            heavy = r.random() < 0.02 or len(self.conversations) % 50 == 6
            n_parts = r.randint(501, 620) if heavy else r.randint(1, 25)
        ts = created
        for _ in range(n_parts):
            ts = min(ts + r.randint(1, 7200), self.clock.now())
            self._append_part(
                conversation,
                r.choice(PART_TYPES),
                "<p>" + self._words(r.randint(1, 25)) + "</p>",
                ts,
                admin if r.random() < 0.5 else None,
            )
        conversation["updated_at"] = max(ts, created)
        return conv_id

    def _statistics(self, created: int, admin_id: str) -> JSON:
        r = self.rng
        return {
            "type": "conversation_statistics",
            "time_to_assignment": r.randint(0, 600),
            "time_to_admin_reply": r.randint(30, 86_400),
            "time_to_first_close": r.randint(60, 200_000),
            "time_to_last_close": r.randint(60, 300_000),
            "median_time_to_reply": r.randint(30, 7200),
            "first_contact_reply_at": created,
            "first_assignment_at": created + 60,
            "first_admin_reply_at": created + 600,
            "first_close_at": created + 7200,
            "last_assignment_at": created + 60,
            "last_assignment_admin_reply_at": created + 600,
            "last_contact_reply_at": created + 3600,
            "last_admin_reply_at": created + 4000,
            "last_close_at": created + 7200,
            "last_closed_by_id": admin_id,
            "count_reopens": r.randint(0, 3),
            "count_assignments": r.randint(0, 4),
            "count_conversation_parts": 0,
        }

    def _append_part(
        self, conversation: JSON, part_type: str, body: str | None, ts: int, admin: JSON | None
    ) -> str:
        part_id = str(self._next("part", 1))
        author = (
            {"type": "admin", "id": admin["id"], "name": admin["name"], "email": admin["email"]}
            if admin
            else dict(conversation["source"]["author"])
        )
        conversation["conversation_parts"]["conversation_parts"].append(
            {
                "type": "conversation_part",
                "id": part_id,
                "part_type": part_type,
                "body": body,
                "created_at": ts,
                "updated_at": ts,
                "notified_at": ts,
                "assigned_to": {"type": "admin", "id": admin["id"]}
                if admin and part_type == "assignment"
                else None,
                "author": author,
                "attachments": [],
                "external_id": None,
                "redacted": False,
            }
        )
        parts = conversation["conversation_parts"]
        parts["total_count"] += 1
        conversation["statistics"]["count_conversation_parts"] = parts["total_count"]
        return part_id

    # tickets ------------------------------------------------------------------------------------------------

    def _gen_ticket_types(self, n: int) -> None:
        for i in range(max(1, n)):
            tt_id = str(85 + i)
            created = self._past()
            attributes = [
                {
                    "type": "ticket_type_attribute",
                    "id": str(218 + i * 10 + j),
                    "workspace_id": self.workspace_id,
                    "name": name,
                    "description": "",
                    "data_type": "string",
                    "input_options": {"multiline": name == "_default_description_"},
                    "order": j,
                    "required_to_create": False,
                    "required_to_create_for_contacts": False,
                    "visible_on_create": True,
                    "visible_to_contacts": True,
                    "default": name.startswith("_default"),
                    "ticket_type_id": int(tt_id),
                    "archived": False,
                    "created_at": created,
                    "updated_at": created,
                }
                for j, name in enumerate(["_default_title_", "_default_description_", "Order ID"])
            ]
            # The schema says ticket_type_attribute_list {ticket_type_attributes: [...]}; every example (the
            # real API) is {type: "list", data: [...]} -- follow the examples.
            self.ticket_types[tt_id] = {
                "type": "ticket_type",
                "id": tt_id,
                "category": TICKET_CATEGORIES[i % 3],
                "name": ["Bug Report", "Refund request 💸", "Feature Request"][i % 3]
                + ("" if i < 3 else f" {i}"),
                "description": self._words(5),
                "icon": ["🐞", "💸", "💡"][i % 3],
                "workspace_id": self.workspace_id,
                "ticket_type_attributes": {"type": "list", "data": attributes},
                "archived": False,
                "created_at": created,
                "updated_at": created,
                "is_internal": False,
            }

    def _gen_ticket(self, created: int | None = None, **fields: Any) -> str:
        r = self.rng
        ticket_id = str(self._next("ticket", 400))
        created = created if created is not None else self._past()
        tt = self.ticket_types[r.choice(list(self.ticket_types))]
        contact = self._random_contact()
        state = r.choice(TICKET_STATES)
        ticket: JSON = {
            "type": "ticket",
            "id": ticket_id,
            "ticket_id": str(int(ticket_id) - 350),
            "category": tt["category"],
            "ticket_attributes": {
                "_default_title_": r.choice(["Login broken", "Refund ✨", "Crash on sync"]),
                "_default_description_": r.choice([None, self._words(12)]),
                "Order ID": r.choice([None, f"ORD-{r.randint(1, 99999)}"]),
            },
            "ticket_state": state,
            "ticket_type": tt,
            "contacts": {
                "type": "contact.list",
                "contacts": [{"type": "contact", "id": contact["id"], "external_id": contact["external_id"]}]
                if contact
                else [],
            },
            # Tickets carry assignee ids as strings ("0" = unassigned, as in the spec's examples).
            "admin_assignee_id": r.choice(self.admin_ids) if r.random() < 0.7 else "0",
            "team_assignee_id": r.choice(list(self.teams)) if self.teams and r.random() < 0.5 else "0",
            "created_at": created,
            "updated_at": created,
            "open": state != "resolved",
            "linked_objects": {"type": "list", "data": [], "total_count": 0, "has_more": False},
            "ticket_parts": {"type": "ticket_part.list", "ticket_parts": [], "total_count": 0},
            "is_shared": r.random() < 0.5,
            "ticket_state_internal_label": state.replace("_", " ").capitalize(),
            "ticket_state_external_label": state.replace("_", " ").capitalize(),
        }
        ticket.update(fields)
        self.tickets[ticket_id] = ticket
        heavy = r.random() < 0.03 or len(self.tickets) % 40 == 6
        n_parts = r.randint(501, 530) if heavy else r.randint(1, 8)
        ts = created
        for _ in range(n_parts):
            ts = min(ts + r.randint(1, 7200), self.clock.now())
            self._append_ticket_part(ticket, "<p>" + self._words(r.randint(1, 15)) + "</p>", ts)
        ticket["updated_at"] = max(ts, created)
        return ticket_id

    def _append_ticket_part(self, ticket: JSON, body: str | None, ts: int) -> str:
        part_id = str(self._next("ticket_part", 100))
        admin = self.admins[self.rng.choice(self.admin_ids)]
        ticket["ticket_parts"]["ticket_parts"].append(
            {
                "type": "ticket_part",
                "id": part_id,
                "part_type": "comment",
                "body": body,
                "previous_ticket_state": ticket["ticket_state"],
                "ticket_state": ticket["ticket_state"],
                "created_at": ts,
                "updated_at": ts,
                "assigned_to": None,
                "author": {
                    "type": "admin",
                    "id": admin["id"],
                    "name": admin["name"],
                    "email": admin["email"],
                },
                "attachments": [],
                "external_id": None,
                "redacted": False,
            }
        )
        ticket["ticket_parts"]["total_count"] += 1
        return part_id
