"""A deterministic in-memory Intercom workspace: generator, stores, mutations, simulated clock, truth helpers.

Objects are kept in the spec's (2.11) shape with their embedded lists complete; `render.py` truncates them the
way the API does. Every mutation bumps `version` (search results are cached per version) and drops the touched
object's pre-serialized bytes from `bytes_cache`.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from typing import Any

JSON = dict[str, Any]

DAY = 86_400
TWO_YEARS = 730 * DAY
DEFAULT_NOW = 1_790_812_800  # 2026-10-01T00:00:00Z

FIRST_NAMES = [
    "Ada",
    "Grace",
    "José",
    "Zoë",
    "Øyvind",
    "Siobhán",
    "Łukasz",
    "Ngozi",
    "Hiroshi",
    "Mía",
    "François",
    "Anaïs",
    "Dmitrï",
    "Björn",
    "Çağla",
    "Renée",
    "Ólafur",
    "Priya",
    "Wei",
    "Fatima",
    "Kwame",
    "Émile",
    "Ines",
    "Tomás",
]
LAST_NAMES = [
    "Lovelace",
    "Hopper",
    "Müller",
    "García",
    "Nakamura",
    "O'Brien",
    "Søndergaard",
    "Kowalski",
    "Adeyemi",
    "Dubois",
    "Ivanov",
    "Rossi",
    "Chen",
    "Papadopoulos",
    "Van der Berg",
    "Smith",
    "Núñez",
    "Kim",
    "Haddad",
]
UNICODE_NAMES = [
    "李小龙",
    "Владимир Петров",
    "محمد علي",
    "🦄 Unicorn Fan",
    "Zoë 🎉 O'Connor",
    "김민수",
    "ñandú ✨",
]
DOMAINS = ["example.com", "mail.test", "acme.io", "globex.co.uk", "initech.dev", "umbrella.org", "exämple.de"]
COUNTRIES = [
    ("United States", "US", "NA", "California", "San Francisco"),
    ("Ireland", "IE", "EU", "Dublin", "Dublin"),
    ("Germany", "DE", "EU", "Berlin", "Berlin"),
    ("Japan", "JP", "AS", "Tokyo", "Tokyo"),
    ("Brazil", "BR", "SA", "São Paulo", "São Paulo"),
    ("Nigeria", "NG", "AF", "Lagos", "Lagos"),
    ("Australia", "AU", "OC", "New South Wales", "Sydney"),
    ("France", "FR", "EU", "Île-de-France", "Paris"),
]
BROWSERS = ["chrome", "firefox", "safari", "edge", None]
OSES = ["OS X 14.1", "Windows 11", "Linux", "iOS 17.2", "Android 14", None]
LANGUAGES = ["en", "fr", "de", "ja", "pt-BR", None]
INDUSTRIES = ["Software", "Retail", "Finance", "Healthcare", "Education", "Manufacturing", "Media & 🎬"]
TAG_WORDS = [
    "VIP",
    "churn-risk",
    "beta 🚀",
    "Enterprise",
    "trial",
    "needs follow-up",
    "NPS détracteur",
    "partner",
    "billing",
    "onboarding",
    "priority",
    "legacy plan",
    "从中国",
    "refund",
    "upsell",
]
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua. "
).split()
_LOREM_RING = LOREM * 40  # slices of it give texts of up to ~700 words
SOURCE_TYPES = [
    "conversation",
    "email",
    "facebook",
    "instagram",
    "phone_call",
    "push",
    "sms",
    "twitter",
    "whatsapp",
]
PART_TYPES = [
    "comment",
    "comment",
    "comment",
    "note",
    "assignment",
    "open",
    "close",
    "snoozed",
    "conversation_attribute_updated_by_admin",
]
TICKET_STATES = ["submitted", "in_progress", "waiting_on_customer", "resolved"]
TICKET_CATEGORIES = ["Customer", "Back-office", "Tracker"]
ACTIVITY_TYPES = [
    "admin_login_success",
    "admin_logout",
    "app_name_change",
    "message_state_change",
    "admin_away_mode_change",
    "conversation_topic_change",
    "admin_invite_creation",
    "app_data_export",
    "search_browse_enabled_change",
]
CONTENT_TYPES = ["email", "post", "custom_bot", "survey", "tour", "chat", "push", "sms"]

# (name, data_type) of custom data attributes per model: keys with spaces, dots, capitals, emoji on purpose.
CUSTOM_ATTRIBUTES: dict[str, list[tuple[str, str]]] = {
    "contact": [
        ("Plan Tier", "string"),
        ("account.region", "string"),
        ("MRR", "float"),
        ("seats", "integer"),
        ("is Beta", "boolean"),
        ("Last Demo Date", "date"),
        ("favourite 🍕", "string"),
        ("notes.long", "string"),
        ("NPS", "integer"),
    ],
    "company": [
        ("Contract Value", "float"),
        ("renewal.date", "date"),
        ("Account Owner", "string"),
        ("employees", "integer"),
        ("churned", "boolean"),
    ],
    "conversation": [
        ("Issue Type", "string"),
        ("escalated", "boolean"),
        ("Order.Number", "integer"),
        ("refund amount", "float"),
        ("Follow-up Date", "date"),
    ],
}


def _hex_id(prefix: int, n: int) -> str:
    return f"{prefix:08x}{n:016x}"


def start_of_day(ts: int, tz_offset: int = 0) -> int:
    """Start (unix seconds) of the day containing `ts`, in a timezone `tz_offset` seconds east of UTC."""
    return (ts + tz_offset) // DAY * DAY - tz_offset


class Clock:
    """The simulated clock: timestamps of mutations and search lag use it (wall-clock knobs do not)."""

    def __init__(self, now: int) -> None:
        self._now = now
        self._lock = threading.Lock()

    def now(self) -> int:
        return self._now

    def set(self, ts: int) -> None:
        with self._lock:
            self._now = int(ts)

    def advance(self, seconds: int | float) -> int:
        with self._lock:
            self._now += int(seconds)
            return self._now


class Workspace:
    """A generated Intercom workspace. Same seed and sizes give identical data (ids included)."""

    def __init__(
        self,
        seed: int = 1,
        contacts: int = 300,
        companies: int = 60,
        conversations: int = 150,
        tickets: int = 40,
        *,
        admins: int = 6,
        teams: int = 3,
        tags: int = 30,
        segments: int = 8,
        subscription_types: int = 3,
        ticket_types: int = 3,
        articles: int = 20,
        help_centers: int = 2,
        collections: int = 8,
        news_items: int = 10,
        newsfeeds: int = 2,
        activity_logs: int = 200,
        export_rows: int = 500,
        notes_per_contact: float = 0.5,
        events_per_contact: float = 1.0,
        now: int = DEFAULT_NOW,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        # Draws added after the generator's layout was fixed come from this second stream, so that they do
        # not shift what `rng` generates (the same seed keeps giving the same contacts, conversations ...).
        self._aux_rng = random.Random(f"{seed}:aux")
        self.clock = Clock(now)
        self.lock = threading.RLock()
        self.version = 0
        self.bytes_cache: dict[tuple[str, str], bytes] = {}
        self.workspace_id = f"sim{seed:06d}" + "x" * 34
        self._id_prefix = 0x66500000 + (seed % 0xFFFF)
        self._counters: dict[str, int] = {}
        self._company_id_list: list[str] = []
        self._contact_id_list: list[str] = []
        self.removed_contacts: dict[str, str] = {}
        self.contact_created_clock: dict[
            str, int
        ] = {}  # contacts created through the API: clock time of creation

        self.admins: dict[str, JSON] = {}
        self.teams: dict[str, JSON] = {}
        self.tags: dict[str, JSON] = {}
        self.segments: dict[str, JSON] = {}
        self.subscription_types: dict[str, JSON] = {}
        self.data_attributes: list[JSON] = []
        self.companies: dict[str, JSON] = {}
        self.contacts: dict[str, JSON] = {}
        self.notes: dict[str, JSON] = {}
        self.events: list[JSON] = []
        self.conversations: dict[str, JSON] = {}
        self.ticket_types: dict[str, JSON] = {}
        self.tickets: dict[str, JSON] = {}
        self.help_centers: dict[str, JSON] = {}
        self.collections: dict[str, JSON] = {}
        self.articles: dict[str, JSON] = {}
        self.newsfeeds: dict[str, JSON] = {}
        self.news_items: dict[str, JSON] = {}
        self.activity_logs: dict[str, JSON] = {}
        self.export_rows: list[JSON] = []

        self.company_contacts: dict[str, list[str]] = {}
        self.contact_segments: dict[str, list[str]] = {}
        self.company_segments: dict[str, list[str]] = {}
        self.events_by_contact: dict[str, list[JSON]] = {}
        # contact id -> tag id -> {"applied_at", "applied_by"}: when and by whom the tag was applied
        # (GET /contacts/{id}/tags shows both, as the spec's example does)
        self.tag_applications: dict[str, dict[str, JSON]] = {}

        self._generate(
            admins=admins,
            teams=teams,
            tags=tags,
            segments=segments,
            subscription_types=subscription_types,
            companies=companies,
            contacts=contacts,
            notes_per_contact=notes_per_contact,
            events_per_contact=events_per_contact,
            conversations=conversations,
            ticket_types=ticket_types,
            tickets=tickets,
            help_centers=help_centers,
            collections=collections,
            articles=articles,
            newsfeeds=newsfeeds,
            news_items=news_items,
            activity_logs=activity_logs,
            export_rows=export_rows,
        )

    # ------------------------------------------------------------------------------------------------ helpers

    def _next(self, kind: str, start: int = 1) -> int:
        value = self._counters.get(kind, start)
        self._counters[kind] = value + 1
        return value

    def _past(self, earliest: int | None = None) -> int:
        """A timestamp in the two years before the clock's start (not before `earliest`)."""
        now = self.clock.now()
        low = max(earliest if earliest is not None else now - TWO_YEARS, now - TWO_YEARS)
        return self.rng.randint(low, now - 1) if low < now - 1 else now - 1

    def _words(self, n: int) -> str:
        start = self.rng.randrange(len(LOREM))  # one draw per text: generation speed matters (200k contacts)
        return " ".join(_LOREM_RING[start : start + n])

    def _invalidate(self, kind: str, obj_id: str) -> None:
        self.version += 1
        for variant in ("", ":list", ":full"):
            self.bytes_cache.pop((kind + variant, obj_id), None)

    # --------------------------------------------------------------------------------------------- generation

    def _generate(self, **sizes: Any) -> None:
        self._gen_admins_and_teams(sizes["admins"], sizes["teams"])
        self._gen_tags(sizes["tags"])
        self._gen_segments(sizes["segments"])
        self._gen_subscription_types(sizes["subscription_types"])
        self._gen_data_attributes()
        for _ in range(sizes["companies"]):
            self._add_company(self._new_company())
        self._company_id_list = list(self.companies)
        for _ in range(sizes["contacts"]):
            self._gen_contact_with_relations(sizes["notes_per_contact"], sizes["events_per_contact"])
        for _ in range(sizes["conversations"]):
            self._gen_conversation()
        self._gen_ticket_types(sizes["ticket_types"])
        for _ in range(sizes["tickets"]):
            self._gen_ticket()
        self._gen_help_center_content(sizes["help_centers"], sizes["collections"], sizes["articles"])
        self._gen_news(sizes["newsfeeds"], sizes["news_items"])
        for _ in range(sizes["activity_logs"]):
            self._add_activity_log(created_at=self._past())
        self._gen_export_rows(sizes["export_rows"])

    def _gen_admins_and_teams(self, n_admins: int, n_teams: int) -> None:
        team_ids = [5_017_690 + i for i in range(n_teams)]
        for i in range(max(1, n_admins)):
            admin_id = str(991_267_390 + i)
            name = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
            my_teams = sorted(self.rng.sample(team_ids, min(len(team_ids), self.rng.randint(0, 2))))
            self.admins[admin_id] = {
                "type": "admin",
                "id": admin_id,
                "name": name,
                "email": f"admin{i + 1}@{DOMAINS[0]}",
                "job_title": self.rng.choice(["Support Engineer", "Head of CX", "Account Manager 🤝", ""]),
                "away_mode_enabled": self.rng.random() < 0.2,
                "away_mode_reassign": self.rng.random() < 0.1,
                "has_inbox_seat": self.rng.random() < 0.9,
                "team_ids": my_teams,
                "avatar": {"image_url": f"https://static.intercomassets.test/avatars/{admin_id}.png"},
                "team_priority_level": {"primary_team_ids": my_teams[:1], "secondary_team_ids": my_teams[1:]},
            }
        for team_int in team_ids:
            members = [int(a["id"]) for a in self.admins.values() if team_int in a["team_ids"]]
            self.teams[str(team_int)] = {
                "type": "team",
                "id": str(team_int),
                "name": self.rng.choice(["Support", "Billing", "VIP 🌟", "Tier 2", "Sales"]),
                "admin_ids": members,
                "admin_priority_level": {
                    "primary_admin_ids": members[:1],
                    "secondary_admin_ids": members[1:],
                },
            }
        self.admin_ids = list(self.admins)

    def _gen_tags(self, n: int) -> None:
        for i in range(n):
            tag_id = str(8_000_000 + i + 1)
            suffix = "" if i < len(TAG_WORDS) else f" {i}"
            self.tags[tag_id] = {"type": "tag", "id": tag_id, "name": TAG_WORDS[i % len(TAG_WORDS)] + suffix}
        self.tag_ids = list(self.tags)

    def _gen_segments(self, n: int) -> None:
        for i in range(n):
            seg_id = _hex_id(self._id_prefix + 3, i + 1)
            created = self._past()
            self.segments[seg_id] = {
                "type": "segment",
                "id": seg_id,
                "name": f"Segment {i + 1} — {self.rng.choice(TAG_WORDS)}",
                "created_at": created,
                "updated_at": self._past(created),
                "person_type": "user" if i % 3 else "contact",
            }
        self.segment_ids = list(self.segments)

    def _gen_subscription_types(self, n: int) -> None:
        names = ["Newsletters", "Product updates 📣", "Billing notices", "SMS alerts", "Événements"]
        for i in range(n):
            sub_id = str(137 + i)
            translation = {"name": names[i % len(names)], "description": self._words(6), "locale": "en"}
            self.subscription_types[sub_id] = {
                "type": "subscription",
                "id": sub_id,
                "state": "live" if i < 3 else "draft",
                "consent_type": "opt_out" if i % 2 == 0 else "opt_in",
                "default_translation": translation,
                "translations": [translation],
                "content_types": ["sms_message"] if "SMS" in translation["name"] else ["email"],
            }

    def _gen_data_attributes(self) -> None:
        builtin = [
            ("contact", "name", "string", "Name"),
            ("contact", "email", "string", "Email"),
            ("contact", "created_at", "date", "Signed up"),
            ("contact", "last_seen_at", "date", "Last seen"),
            ("company", "name", "string", "Company name"),
            ("company", "company_id", "string", "Company ID"),
            ("company", "last_request_at", "date", "Company last seen"),
            ("conversation", "priority", "string", "Priority"),
        ]
        for model, name, data_type, label in builtin:
            self.data_attributes.append(
                {
                    "type": "data_attribute",
                    "name": name,
                    "full_name": name,
                    "label": label,
                    "description": f"The {label.lower()}",
                    "data_type": data_type,
                    "api_writable": False,
                    "ui_writable": False,
                    "messenger_writable": True,
                    "custom": False,
                    "archived": False,
                    "model": model,
                }
            )
        next_id = 12_000
        for model, attrs in CUSTOM_ATTRIBUTES.items():
            for name, data_type in attrs:
                next_id += 1
                created = self._past()
                self.data_attributes.append(
                    {
                        "type": "data_attribute",
                        "id": next_id,
                        "model": model,
                        "name": name,
                        "full_name": f"custom_attributes.{name}",
                        "label": name,
                        "description": f"Custom {name}",
                        "data_type": data_type,
                        "options": ["gold", "silver"] if name == "Plan Tier" else [],
                        "api_writable": True,
                        "messenger_writable": False,
                        "ui_writable": True,
                        "custom": True,
                        "archived": False,
                        "created_at": created,
                        "updated_at": self._past(created),
                        "admin_id": self.admin_ids[0],
                    }
                )

    def _custom_value(self, name: str, data_type: str) -> Any:
        r = self.rng
        if data_type == "string":
            if name == "notes.long":
                return "📝 " + self._words(r.randint(150, 400))
            if r.random() < 0.02:
                return "x" * 300
            return r.choice(["gold", "silver", "bronze", "Ünïcødé ✓", "", "EU-west", "🍕 margherita"])
        if data_type == "integer":
            return r.randint(-5, 5000)
        if data_type == "float":
            return round(r.uniform(0, 10_000), 2)
        if data_type == "boolean":
            return r.random() < 0.5
        return self._past()

    def _custom_attributes(self, model: str) -> JSON:
        r = self.rng
        return {
            name: self._custom_value(name, dt)
            for name, dt in CUSTOM_ATTRIBUTES[model]
            if r.random() < (0.03 if name == "notes.long" else 0.6)
        }

    # companies ----------------------------------------------------------------------------------------------

    def _new_company(self, **fields: Any) -> JSON:
        n = self._next("company")
        company_id = _hex_id(self._id_prefix + 1, n)
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

    def _tag_basic(self, tag_id: str) -> JSON:
        tag = self.tags[tag_id]
        return {"type": "tag", "id": tag["id"], "name": tag["name"]}

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
        cid = _hex_id(self._id_prefix, n)
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

    # conversations ------------------------------------------------------------------------------------------

    def _random_contact(self) -> JSON | None:
        if len(self._contact_id_list) != len(self.contacts):
            self._contact_id_list = list(self.contacts)
        return self.contacts[self.rng.choice(self._contact_id_list)] if self._contact_id_list else None

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

    # help center, news, activity logs, export rows ----------------------------------------------------------

    def _gen_help_center_content(self, n_help_centers: int, n_collections: int, n_articles: int) -> None:
        r = self.rng
        for i in range(n_help_centers):
            hc_id = str(300 + i)
            created = self._past()
            self.help_centers[hc_id] = {
                "id": hc_id,
                "workspace_id": self.workspace_id,
                "created_at": created,
                "updated_at": self._past(created),
                "identifier": f"help-{i}",
                "website_turned_on": i == 0,
                "display_name": ["Help Center", "Centre d'aide 🇫🇷"][i % 2],
                "url": f"https://help.sim.test/{i}",
                "custom_domain": None if i else "help.example.com",
            }
        hc_ids = list(self.help_centers)
        for i in range(n_collections):
            col_id = str(6_000 + i)
            created = self._past()
            parent = str(6_000 + r.randrange(i)) if i > 1 and r.random() < 0.4 else None
            name = r.choice(["Getting started", "Billing", "Integrations 🔌", "FAQ", "Sécurité"]) + f" {i}"
            self.collections[col_id] = {
                "id": col_id,
                "workspace_id": self.workspace_id,
                "name": name,
                "description": r.choice([None, self._words(8)]),
                "created_at": created,
                "updated_at": self._past(created),
                "url": f"https://help.sim.test/collections/{col_id}",
                "icon": "book-bookmark",
                "order": i,
                "default_locale": "en",
                "translated_content": {
                    "type": "group_translated_content",
                    "en": {"type": "group_content", "name": name, "description": ""},
                },
                "parent_id": parent,
                "help_center_id": int(hc_ids[i % len(hc_ids)]) if hc_ids else None,
            }
        col_ids = list(self.collections)
        for i in range(n_articles):
            article_id = str(39_000 + i)
            created = self._past()
            title = (
                r.choice(
                    ["How to export data", "Réinitialiser le mot de passe", "API limits ⚡", "Setting up SSO"]
                )
                + f" #{i}"
            )
            body = "<p>" + self._words(r.randint(20, 200)) + "</p>"
            state = r.choice(["published", "published", "draft"])
            author_id = int(r.choice(self.admin_ids))
            parent = int(r.choice(col_ids)) if col_ids and r.random() < 0.8 else None
            self.articles[article_id] = {
                "type": "article",
                "id": article_id,
                "workspace_id": self.workspace_id,
                "title": title,
                "description": r.choice([None, self._words(6)]),
                "body": body,
                "author_id": author_id,
                "state": state,
                "created_at": created,
                "updated_at": self._past(created),
                "url": f"https://help.sim.test/articles/{article_id}" if state == "published" else None,
                "parent_id": parent,
                "parent_ids": [parent] if parent else [],
                "parent_type": "collection" if parent else None,
                "default_locale": "en",
                "translated_content": {
                    "type": "article_translated_content",
                    "en": {
                        "type": "article_content",
                        "title": title,
                        "description": "",
                        "body": body,
                        "author_id": author_id,
                        "state": state,
                        "created_at": created,
                        "updated_at": created,
                        "url": f"https://help.sim.test/articles/{article_id}",
                    },
                },
                # The schema names the counter `conversions`; every example (= the real API) says
                # `conversations`.
                "statistics": {
                    "type": "article_statistics",
                    "views": r.randint(0, 5000),
                    "conversations": r.randint(0, 50),
                    "reactions": r.randint(0, 100),
                    "happy_reaction_percentage": round(r.random() * 100, 1),
                    "neutral_reaction_percentage": 0.0,
                    "sad_reaction_percentage": 0.0,
                },
            }

    def _gen_news(self, n_newsfeeds: int, n_items: int) -> None:
        r = self.rng
        for i in range(n_newsfeeds):
            feed_id = str(20 + i)
            created = self._past()
            self.newsfeeds[feed_id] = {
                "id": feed_id,
                "type": "newsfeed",
                "name": ["Product news", "Nouveautés 🆕"][i % 2],
                "created_at": created,
                "updated_at": self._past(created),
            }
        for i in range(n_items):
            item_id = str(30 + i)
            created = self._past()
            state = r.choice(["live", "live", "draft"])
            feeds = list(self.newsfeeds)
            self.news_items[item_id] = {
                "type": "news-item",
                "id": item_id,
                "workspace_id": self.workspace_id,
                "title": r.choice(["We launched dark mode 🌙", "Nouvelle API", "Pricing update"]) + f" {i}",
                "body": "<p>" + self._words(40) + "</p>",
                "sender_id": int(r.choice(self.admin_ids)),
                "state": state,
                "newsfeed_assignments": self._newsfeed_assignments(state, feeds, created),
                "labels": r.choice([[], ["Product"], ["Product", "🎉 Launch"]]),
                "cover_image_url": r.choice([None, "https://cdn.sim.test/cover.png"]),
                "reactions": ["😀", "👍", "❤️", None][: r.randint(0, 4)],
                "deliver_silently": r.random() < 0.2,
                "created_at": created,
                "updated_at": self._past(created),
            }

    def _newsfeed_assignments(self, state: str, feeds: list[str], created: int) -> list[JSON]:
        """A live item is published on at least one newsfeed (the spec's GET example shows one assignment);
        a draft on none (its list example). The draws from `rng` are those the generator always made."""
        if state != "live":
            return []
        assignments = [
            {"newsfeed_id": int(f), "published_at": self._past(created)}
            for f in feeds[: self.rng.randint(0, len(feeds))]
        ]
        if not assignments and feeds:
            now = self.clock.now()
            published = self._aux_rng.randint(min(created, now - 1), now - 1)
            assignments = [{"newsfeed_id": int(feeds[0]), "published_at": published}]
        return assignments

    def _add_activity_log(self, created_at: int, **fields: Any) -> str:
        r = self.rng
        log_id = str(uuid.UUID(int=r.getrandbits(128), version=4))
        admin = self.admins[r.choice(self.admin_ids)]
        activity_type = r.choice(ACTIVITY_TYPES)
        log = {
            "id": log_id,
            "performed_by": {
                "type": "admin",
                "id": admin["id"],
                "email": admin["email"],
                "ip": f"10.0.{r.randint(0, 255)}.{r.randint(1, 254)}",
            },
            "metadata": {"sign_in_method": "email_password"}
            if activity_type == "admin_login_success"
            else {"before": "Old näme", "after": "New name ✨"},
            "created_at": created_at,
            "activity_type": activity_type,
            "activity_description": f"{admin['name']} did {activity_type.replace('_', ' ')}.",
        }
        log.update(fields)
        self.activity_logs[log_id] = log
        return log_id

    def _gen_export_rows(self, n: int, received_from: int | None = None) -> None:
        r = self.rng
        contacts = list(self.contacts.values())
        for _ in range(n):
            contact = r.choice(contacts) if contacts else None
            received = self._past(received_from)
            content_type = r.choice(CONTENT_TYPES)
            in_series = r.random() < 0.3
            companies = contact["companies"]["data"] if contact else []

            def maybe_after(p: float, base: int = received) -> int | None:
                return base + r.randint(1, 3 * DAY) if r.random() < p else None

            self.export_rows.append(
                {
                    "user_id": contact["id"] if contact else "",
                    "user_external_id": (contact["external_id"] or "") if contact else "",
                    "company_id": companies[0]["id"] if companies else "-1",
                    "email": contact["email"] if contact else "",
                    "name": (contact["name"] or "") if contact else "",
                    "ruleset_id": str(r.randint(1000, 1100)),
                    "content_id": str(r.randint(5000, 5100)),
                    "content_type": content_type,
                    "content_title": r.choice(["Welcome 👋", 'Renewal, "soon"', "Línea\nnueva", "Survey Q3"]),
                    "ruleset_version_id": str(r.randint(1, 9)),
                    "receipt_id": str(self._next("receipt", 900_000)),
                    "received_at": received,
                    "series_id": str(r.randint(1, 20)) if in_series else "-1",
                    "series_title": "Onboarding series" if in_series else "",
                    "node_id": str(r.randint(1, 40)) if in_series else "-1",
                    "first_reply": maybe_after(0.05),
                    "first_completion": maybe_after(0.1),
                    "first_series_completion": maybe_after(0.05) if in_series else None,
                    "first_series_disengagement": maybe_after(0.02) if in_series else None,
                    "first_series_exit": maybe_after(0.02) if in_series else None,
                    "first_goal_success": maybe_after(0.05),
                    "first_open": maybe_after(0.5),
                    "first_click": maybe_after(0.2),
                    "first_dismisall": maybe_after(0.05),
                    "first_unsubscribe": maybe_after(0.01),
                    "first_hard_bounce": maybe_after(0.01),
                }
            )

    # ------------------------------------------------------------------------------------------------ truth

    def contact_tag_ids(self, cid: str) -> list[str]:
        return [t["id"] for t in self.contacts[cid]["tags"]["data"]]

    def contact_tags(self, cid: str) -> list[JSON]:
        """The contact's tags as GET /contacts/{id}/tags lists them: each with `applied_at` / `applied_by`."""
        with self.lock:
            applied = self.tag_applications.get(cid, {})
            return [{**self.tags[t], **applied[t]} for t in self.contact_tag_ids(cid)]

    def contact_company_ids(self, cid: str) -> list[str]:
        return [c["id"] for c in self.contacts[cid]["companies"]["data"]]

    def contact_segment_ids(self, cid: str) -> list[str]:
        return list(self.contact_segments.get(cid, []))

    def contact_subscriptions(self, cid: str) -> list[tuple[str, str]]:
        contact = self.contacts[cid]
        return [(s["id"], "opt_in") for s in contact["opted_in_subscription_types"]["data"]] + [
            (s["id"], "opt_out") for s in contact["opted_out_subscription_types"]["data"]
        ]

    def company_segment_ids(self, company_id: str) -> list[str]:
        return list(self.company_segments.get(company_id, []))

    def conversation_parts(self, conversation_id: str) -> list[JSON]:
        return list(self.conversations[conversation_id]["conversation_parts"]["conversation_parts"])

    def ticket_parts(self, ticket_id: str) -> list[JSON]:
        return list(self.tickets[ticket_id]["ticket_parts"]["ticket_parts"])

    def contact_notes(self, cid: str) -> list[JSON]:
        return [self.notes[n["id"]] for n in self.contacts[cid]["notes"]["data"]]

    def contact_events(self, cid: str) -> list[JSON]:
        return list(self.events_by_contact.get(cid, []))

    def searchable_since(self, cid: str) -> int:
        """Clock time from which a contact created through the API is visible to search (before any lag)."""
        return self.contact_created_clock.get(cid, 0)

    # ---------------------------------------------------------------------------------------------- mutations

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

    def add_export_rows(self, n: int) -> None:
        """Append `n` content-export rows received within the last day before the clock."""
        with self.lock:
            self._gen_export_rows(n, received_from=self.clock.now() - DAY)
            self.version += 1

    def add_activity_log(self, **fields: Any) -> str:
        with self.lock:
            log_id = self._add_activity_log(created_at=fields.pop("created_at", self.clock.now()), **fields)
            self.version += 1
            return log_id

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
    )

    def mutation(self, name: str) -> Callable[..., Any]:
        if name not in self.MUTATIONS:
            raise KeyError(name)
        return getattr(self, name)
