"""Mutations of a workspace: what tests and `POST /_sim/mutate` change (each bumps `updated_at` to the clock).

Each takes the workspace lock, changes the stores (new objects come from the generators, so they have the
generated shape), and invalidates the touched object's cached bytes and the search results (`version`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .generate import Generator
from .state import DAY, JSON


class Mutations(Generator):
    """The public mutations (`MUTATIONS`, looked up by name with `mutation`) and their bookkeeping."""

    def _touch_contact(self, cid: str) -> JSON:
        contact = self.contacts[cid]
        contact["updated_at"] = self.clock.now()
        self._invalidate("contact", cid)
        return contact

    def update_contact(self, cid: str, **fields: Any) -> None:
        with self.lock:
            contact = self.contacts[cid]
            custom = fields.pop("custom_attributes", None)
            contact.update(fields)
            if custom is not None:
                contact["custom_attributes"].update(custom)
            if "updated_at" not in fields:
                self._touch_contact(cid)
            else:
                self._invalidate("contact", cid)

    def create_contact(self, **fields: Any) -> str:
        with self.lock:
            now = self.clock.now()
            contact = self._new_contact(created=now)
            contact["updated_at"] = now
            custom = fields.pop("custom_attributes", None)
            contact.update(fields)
            if custom is not None:
                contact["custom_attributes"] = dict(custom)
            cid = contact["id"]
            self.contacts[cid] = contact
            self.contact_segments[cid] = []
            self.contact_created_clock[cid] = now
            self._invalidate("contact", cid)
            return cid

    def _remove_contact(self, cid: str, reason: str) -> None:
        with self.lock:
            contact = self.contacts.pop(cid)
            self.removed_contacts[cid] = reason
            for company_ref in contact["companies"]["data"]:
                self._unlink_company_side(cid, company_ref["id"])
            self._invalidate("contact", cid)

    def archive_contact(self, cid: str) -> None:
        self._remove_contact(cid, "archived")

    def delete_contact(self, cid: str) -> None:
        self._remove_contact(cid, "deleted")

    def merge_contacts(self, from_cid: str, into_cid: str) -> None:
        """Merge a lead into a user: the target gains the source's tags and companies; the source vanishes."""
        with self.lock:
            source, target = self.contacts[from_cid], self.contacts[into_cid]
            for tag_id in [t["id"] for t in source["tags"]["data"]]:
                if tag_id not in self.contact_tag_ids(into_cid):
                    applied = self.tag_applications[from_cid][tag_id]
                    self._link_tag(target, tag_id, applied["applied_at"], applied["applied_by"]["id"])
            for company_id in [c["id"] for c in source["companies"]["data"]]:
                if company_id not in self.contact_company_ids(into_cid):
                    self._link_company(target, company_id)
            self._remove_contact(from_cid, "merged")
            self._touch_contact(into_cid)

    def tag_contact(self, cid: str, tag_id: str) -> None:
        with self.lock:
            if tag_id not in self.contact_tag_ids(cid):
                # tagged through the API: by the token's admin (GET /me is the first admin), now
                self._link_tag(self.contacts[cid], tag_id, self.clock.now(), self.admin_ids[0])
            self._touch_contact(cid)

    def untag_contact(self, cid: str, tag_id: str) -> None:
        with self.lock:
            tags = self.contacts[cid]["tags"]
            tags["data"] = [t for t in tags["data"] if t["id"] != tag_id]
            tags["total_count"] = len(tags["data"])
            self.tag_applications.get(cid, {}).pop(tag_id, None)
            self._touch_contact(cid)

    def attach_company(self, cid: str, company_id: str) -> None:
        with self.lock:
            if company_id not in self.contact_company_ids(cid):
                self._link_company(self.contacts[cid], company_id)
                self._touch_company(company_id, bump=False)
            self._touch_contact(cid)

    def _unlink_company_side(self, cid: str, company_id: str) -> None:
        if company_id in self.company_contacts and cid in self.company_contacts[company_id]:
            self.company_contacts[company_id].remove(cid)
            self.companies[company_id]["user_count"] -= 1
            self._touch_company(company_id, bump=False)

    def detach_company(self, cid: str, company_id: str) -> None:
        with self.lock:
            companies = self.contacts[cid]["companies"]
            companies["data"] = [c for c in companies["data"] if c["id"] != company_id]
            companies["total_count"] = len(companies["data"])
            self._unlink_company_side(cid, company_id)
            self._touch_contact(cid)

    def set_subscription(self, cid: str, subscription_type_id: str, state: str | None) -> None:
        with self.lock:
            contact = self.contacts[cid]
            for key in ("opted_in_subscription_types", "opted_out_subscription_types"):
                lst = contact[key]
                lst["data"] = [s for s in lst["data"] if s["id"] != subscription_type_id]
                lst["total_count"] = len(lst["data"])
            if state not in (None, "opt_in", "opt_out"):
                raise ValueError(f"subscription state must be opt_in, opt_out or None, not {state!r}")
            # GET /contacts/{id}/subscriptions lists "opt-out types the user opted out from and opt-in types
            # the user opted in to" (spec): a state equal to the type's default is no explicit preference.
            if state == self.subscription_types[subscription_type_id]["consent_type"]:
                self._link_subscription(contact, subscription_type_id, state)
            self._touch_contact(cid)

    def add_note(self, cid: str, body: str) -> str:
        with self.lock:
            note_id = self._new_note(self.contacts[cid], body, self.clock.now())
            self._touch_contact(cid)
            return note_id

    def add_event(self, cid: str, event_name: str) -> None:
        # Tracking an event leaves the contact's `updated_at` alone, as on the real API (an event is not a
        # change of the contact object), so a reader of changed contacts never sees it: only GET /events does.
        with self.lock:
            self._new_event(self.contacts[cid], event_name, self.clock.now())
            self.version += 1

    def _touch_company(self, company_id: str, bump: bool = True) -> None:
        if bump:
            self.companies[company_id]["updated_at"] = self.clock.now()
        self._invalidate("company", company_id)

    def update_company(self, company_id: str, **fields: Any) -> None:
        with self.lock:
            self.companies[company_id].update(fields)
            self._touch_company(company_id, bump="updated_at" not in fields)

    def create_company(self, **fields: Any) -> str:
        with self.lock:
            now = self.clock.now()
            company = self._new_company(
                created_at=now, remote_created_at=now, updated_at=now, last_request_at=now, **fields
            )
            self._add_company(company)
            self._invalidate("company", company["id"])
            return company["id"]

    def delete_company(self, company_id: str) -> None:
        with self.lock:
            self.companies.pop(company_id)
            for cid in self.company_contacts.pop(company_id, []):
                if cid in self.contacts:
                    companies = self.contacts[cid]["companies"]
                    companies["data"] = [c for c in companies["data"] if c["id"] != company_id]
                    companies["total_count"] = len(companies["data"])
                    self._touch_contact(cid)
            self._invalidate("company", company_id)

    def update_conversation(self, conv_id: str, **fields: Any) -> None:
        with self.lock:
            conversation = self.conversations[conv_id]
            conversation.update(fields)
            if "updated_at" not in fields:
                conversation["updated_at"] = self.clock.now()
            self._invalidate("conversation", conv_id)

    def create_conversation(self, contact_id: str | None = None) -> str:
        with self.lock:
            conv_id = self._gen_conversation(contact_id, created=self.clock.now(), n_parts=0)
            self._invalidate("conversation", conv_id)
            return conv_id

    def add_conversation_part(self, conv_id: str, body: str = "...", part_type: str = "comment") -> str:
        with self.lock:
            conversation = self.conversations[conv_id]
            now = self.clock.now()
            part_id = self._append_part(conversation, part_type, body, now, None)
            conversation["updated_at"] = now
            self._invalidate("conversation", conv_id)
            return part_id

    def create_ticket(self, **fields: Any) -> str:
        with self.lock:
            ticket_id = self._gen_ticket(created=self.clock.now(), **fields)
            self.tickets[ticket_id]["updated_at"] = self.clock.now()
            self._invalidate("ticket", ticket_id)
            return ticket_id

    def update_ticket(self, ticket_id: str, **fields: Any) -> None:
        with self.lock:
            ticket = self.tickets[ticket_id]
            ticket.update(fields)
            if "updated_at" not in fields:
                ticket["updated_at"] = self.clock.now()
            self._invalidate("ticket", ticket_id)

    def add_ticket_part(self, ticket_id: str, body: str = "...") -> str:
        with self.lock:
            ticket = self.tickets[ticket_id]
            part_id = self._append_ticket_part(ticket, body, self.clock.now())
            ticket["updated_at"] = self.clock.now()
            self._invalidate("ticket", ticket_id)
            return part_id

    def add_export_rows(self, n: int, within_seconds: int = DAY) -> None:
        """Append `n` content-export rows received within the last `within_seconds` before the clock."""
        with self.lock:
            self._gen_export_rows(n, received_from=self.clock.now() - within_seconds)
            self.version += 1

    def add_activity_log(self, **fields: Any) -> str:
        with self.lock:
            log_id = self._add_activity_log(created_at=fields.pop("created_at", self.clock.now()), **fields)
            self.version += 1
            return log_id

    def create_data_attribute(self, model: str, name: str, data_type: str) -> int:
        """A custom data attribute of `model` created at the clock, as POST /data_attributes makes one."""
        with self.lock:
            attribute_id = max((a.get("id", 0) for a in self.data_attributes), default=12_000) + 1
            now = self.clock.now()
            attribute = self._custom_data_attribute(attribute_id, model, name, data_type, now, now)
            self.data_attributes.append(attribute)
            self.version += 1
            return attribute_id

    MUTATIONS: tuple[str, ...] = (
        "update_contact",
        "create_contact",
        "archive_contact",
        "delete_contact",
        "merge_contacts",
        "tag_contact",
        "untag_contact",
        "attach_company",
        "detach_company",
        "set_subscription",
        "add_note",
        "add_event",
        "update_company",
        "create_company",
        "delete_company",
        "update_conversation",
        "create_conversation",
        "add_conversation_part",
        "create_ticket",
        "update_ticket",
        "add_ticket_part",
        "add_export_rows",
        "add_activity_log",
        "create_data_attribute",
    )

    def mutation(self, name: str) -> Callable[..., Any]:
        if name not in self.MUTATIONS:
            raise KeyError(name)
        return getattr(self, name)
