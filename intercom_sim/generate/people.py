"""Generated companies and contacts, and a contact's relations: tags, companies, subscriptions, notes, events.

The `_link_*`, `_new_note` and `_new_event` helpers are also what the mutations use (mutations.py).
"""

from __future__ import annotations

from typing import Any

from ..state import JSON
from .base import GeneratorBase, hex_id
from .vocabulary import (
    BROWSERS,
    COUNTRIES,
    DOMAINS,
    FIRST_NAMES,
    INDUSTRIES,
    LANGUAGES,
    LAST_NAMES,
    OSES,
    UNICODE_NAMES,
)


class PeopleGenerator(GeneratorBase):
    """Companies and contacts (the ones with more than 10 embedded tags/companies/notes on purpose)."""

    # companies ----------------------------------------------------------------------------------------------

    def _new_company(self, **fields: Any) -> JSON:
        n = self._next("company")
        company_id = hex_id(self._id_prefix + 1, n)
        created = self._past()
        r = self.rng
        company = {
            "type": "company",
            "id": company_id,
            "name": r.choice(
                ["Acme", "Globex", "Initech", "Umbrella", "Søstrene", "株式会社テスト", "Café ☕"]
            )
            + f" {n}",
            "app_id": self.workspace_id,
            "plan": r.choice(
                [
                    {},
                    {"type": "plan", "id": "1", "name": "Pro"},
                    {"type": "plan", "id": "2", "name": "Starter"},
                ]
            ),
            "company_id": f"ext-{n}",
            "remote_created_at": created,
            "created_at": created,
            "updated_at": self._past(created),
            "last_request_at": self._past(created),
            "size": r.randint(1, 5000),
            "website": f"https://{r.choice(DOMAINS)}/{n}",
            "industry": r.choice(INDUSTRIES),
            "monthly_spend": r.randint(0, 20_000),
            "session_count": r.randint(0, 900),
            "user_count": 0,
            "custom_attributes": self._custom_attributes("company"),
            "tags": {
                "type": "tag.list",
                "tags": [
                    self._tag_basic(t)
                    for t in r.sample(self.tag_ids, min(len(self.tag_ids), r.choice([0, 0, 1, 2])))
                ],
            },
            "segments": {"type": "segment.list", "segments": []},
        }
        company.update(fields)
        return company

    def _add_company(self, company: JSON) -> None:
        self.companies[company["id"]] = company
        self.company_contacts[company["id"]] = []
        seg_ids = self.rng.sample(self.segment_ids, min(len(self.segment_ids), self.rng.choice([0, 1, 2])))
        self.company_segments[company["id"]] = seg_ids
        company["segments"]["segments"] = [self.segments[s] for s in seg_ids]

    # contacts -----------------------------------------------------------------------------------------------

    def _new_contact(self, created: int | None = None) -> JSON:
        r = self.rng
        n = self._next("contact")
        cid = hex_id(self._id_prefix, n)
        created = created if created is not None else self._past()
        updated = self._past(created)
        roll = r.random()
        if roll < 0.05:
            name: str | None = r.choice(UNICODE_NAMES)
        elif roll < 0.1:
            name = None
        elif roll < 0.12:
            name = "Very Long Name " + "ø" * r.randint(200, 600)
        else:
            name = f"{r.choice(FIRST_NAMES)} {r.choice(LAST_NAMES)}"
        domain = r.choice(DOMAINS)
        role = "user" if r.random() < 0.8 else "lead"
        country, country_code, continent, region, city = r.choice(COUNTRIES)
        has_location = r.random() < 0.7
        mobile = r.random() < 0.15
        seen = self._past(created) if r.random() < 0.8 else None
        return {
            "type": "contact",
            "id": cid,
            "workspace_id": self.workspace_id,
            "external_id": f"user-{n}" if role == "user" and r.random() < 0.9 else None,
            "role": role,
            "email": f"person{n}@{domain}",
            "email_domain": domain,
            "phone": f"+35387{n:07d}" if r.random() < 0.3 else None,
            "formatted_phone": None,
            "name": name,
            "owner_id": int(r.choice(self.admin_ids)) if r.random() < 0.3 else None,
            "has_hard_bounced": r.random() < 0.02,
            "marked_email_as_spam": r.random() < 0.01,
            "unsubscribed_from_emails": r.random() < 0.1,
            "created_at": created,
            "updated_at": updated,
            "signed_up_at": created if role == "user" else None,
            "last_seen_at": seen,
            "last_replied_at": self._past(created) if r.random() < 0.4 else None,
            "last_contacted_at": self._past(created) if r.random() < 0.5 else None,
            "last_email_opened_at": self._past(created) if r.random() < 0.3 else None,
            "last_email_clicked_at": self._past(created) if r.random() < 0.1 else None,
            "language_override": r.choice(LANGUAGES) if r.random() < 0.2 else None,
            "browser": r.choice(BROWSERS),
            "browser_version": f"{r.randint(90, 130)}.0" if seen else None,
            "browser_language": r.choice(LANGUAGES),
            "os": r.choice(OSES),
            "android_app_name": "Sim App" if mobile else None,
            "android_app_version": "5.1.0" if mobile else None,
            "android_device": "Pixel 8" if mobile else None,
            "android_os_version": "14" if mobile else None,
            "android_sdk_version": "15.2.0" if mobile else None,
            "android_last_seen_at": self._past(created) if mobile else None,
            "ios_app_name": None,
            "ios_app_version": None,
            "ios_device": None,
            "ios_os_version": None,
            "ios_sdk_version": None,
            "ios_last_seen_at": None,
            "custom_attributes": self._custom_attributes("contact"),
            "avatar": {"type": "avatar", "image_url": f"https://avatars.sim.test/{cid}.png"}
            if r.random() < 0.3
            else None,
            "tags": {
                "type": "list",
                "data": [],
                "url": f"/contacts/{cid}/tags",
                "total_count": 0,
                "has_more": False,
            },
            "notes": {
                "type": "list",
                "data": [],
                "url": f"/contacts/{cid}/notes",
                "total_count": 0,
                "has_more": False,
            },
            "companies": {
                "type": "list",
                "data": [],
                "url": f"/contacts/{cid}/companies",
                "total_count": 0,
                "has_more": False,
            },
            "opted_out_subscription_types": {
                "type": "list",
                "data": [],
                "url": f"/contacts/{cid}/subscriptions",
                "total_count": 0,
                "has_more": False,
            },
            "opted_in_subscription_types": {
                "type": "list",
                "data": [],
                "url": f"/contacts/{cid}/subscriptions",
                "total_count": 0,
                "has_more": False,
            },
            "location": {
                "type": "location",
                "country": country if has_location else None,
                "region": region if has_location else None,
                "city": city if has_location else None,
                "country_code": country_code if has_location else None,
                "continent_code": continent if has_location else None,
            },
            "social_profiles": {
                "type": "list",
                "data": [{"type": "social_profile", "name": "Twitter", "url": f"https://twitter.com/p{n}"}]
                if r.random() < 0.1
                else [],
            },
            "utm_campaign": r.choice([None, None, "spring_sale", "launch 🚀"]),
            "utm_content": None,
            "utm_medium": r.choice([None, "email", "cpc"]),
            "utm_source": r.choice([None, "google", "newsletter"]),
            "utm_term": None,
            "referrer": r.choice([None, "https://www.google.com/", "https://news.ycombinator.com/"]),
        }

    def _gen_contact_with_relations(self, notes_per_contact: float, events_per_contact: float) -> None:
        r = self.rng
        contact = self._new_contact()
        cid = contact["id"]
        self.contacts[cid] = contact
        # the ones with more than 10 embedded items: ~2% random, plus every 50th for sure
        heavy = r.random() < 0.02 or len(self.contacts) % 50 == 6
        n_tags = (
            r.randint(11, min(25, len(self.tag_ids)))
            if heavy and len(self.tag_ids) > 11
            else r.choice([0, 0, 1, 1, 2, 3])
        )
        for tag_id in r.sample(self.tag_ids, min(n_tags, len(self.tag_ids))):
            aux = self._aux_rng
            applied_at = aux.randint(contact["created_at"], max(contact["created_at"], contact["updated_at"]))
            self._link_tag(contact, tag_id, applied_at, aux.choice(self.admin_ids))
        company_ids = self._company_id_list
        n_companies = r.randint(11, 15) if heavy else r.choice([0, 1, 1, 1, 2])
        for company_id in r.sample(company_ids, min(n_companies, len(company_ids))):
            self._link_company(contact, company_id)
        for sub_id in self.subscription_types:
            if r.random() < 0.2:
                # An explicit choice is the non-default one: out of an opt-out type, into an opt-in type.
                self._link_subscription(contact, sub_id, self.subscription_types[sub_id]["consent_type"])
        self.contact_segments[cid] = r.sample(
            self.segment_ids, min(len(self.segment_ids), r.choice([0, 1, 2]))
        )
        n_notes = r.randint(11, 14) if heavy else int(notes_per_contact + r.random())
        for _ in range(n_notes):
            self._new_note(
                contact, "<p>" + self._words(r.randint(3, 30)) + "</p>", self._past(contact["created_at"])
            )
        n_events = int(events_per_contact + r.random()) + (r.random() < 0.3)
        for _ in range(n_events):
            self._new_event(
                contact,
                r.choice(["signed-in", "upgraded plan", "invited-teammate", "exported 📦"]),
                self._past(contact["created_at"]),
            )

    def _link_tag(self, contact: JSON, tag_id: str, applied_at: int, admin_id: str) -> None:
        contact["tags"]["data"].append({"type": "tag", "id": tag_id, "url": f"/tags/{tag_id}"})
        contact["tags"]["total_count"] += 1
        self.tag_applications.setdefault(contact["id"], {})[tag_id] = {
            "applied_at": applied_at,
            "applied_by": {"type": "admin", "id": admin_id},
        }

    def _link_company(self, contact: JSON, company_id: str) -> None:
        contact["companies"]["data"].append(
            {"type": "company", "id": company_id, "url": f"/companies/{company_id}"}
        )
        contact["companies"]["total_count"] += 1
        self.company_contacts[company_id].append(contact["id"])
        self.companies[company_id]["user_count"] += 1

    def _link_subscription(self, contact: JSON, sub_id: str, state: str) -> None:
        key = "opted_in_subscription_types" if state == "opt_in" else "opted_out_subscription_types"
        contact[key]["data"].append(
            {"type": "subscription", "id": sub_id, "url": f"/subscription_types/{sub_id}"}
        )
        contact[key]["total_count"] += 1

    def _new_note(self, contact: JSON, body: str, created: int) -> str:
        note_id = str(self._next("note", 100))
        author = self.admins[self.rng.choice(self.admin_ids)]
        self.notes[note_id] = {
            "type": "note",
            "id": note_id,
            "created_at": created,
            "contact": {"type": "contact", "id": contact["id"]},
            "author": author,
            "body": body,
        }
        contact["notes"]["data"].append({"type": "note", "id": note_id, "url": f"/notes/{note_id}"})
        contact["notes"]["total_count"] += 1
        return note_id

    def _new_event(self, contact: JSON, name: str, created: int) -> None:
        event = {
            "type": "event",
            "id": str(self._next("event", 1)),
            "event_name": name,
            "created_at": created,
            "user_id": contact["external_id"] or "",
            "intercom_user_id": contact["id"],
            "email": contact["email"],
            "metadata": {"plan": "pro"} if self.rng.random() < 0.3 else {},
        }
        self.events.append(event)
        self.events_by_contact.setdefault(contact["id"], []).append(event)
