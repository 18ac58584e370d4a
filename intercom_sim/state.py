"""The Workspace's data and truth: stores, indexes, the simulated clock, and the accessors tests read.

Objects are kept in the spec's (2.11) shape with their embedded lists complete; `render.py` truncates them the
way the API does. Every mutation bumps `version` (search results are cached per version) and drops the touched
object's pre-serialized bytes from `bytes_cache`. The generators (`generate/`) fill the stores; `mutations.py`
changes them; `workspace.py` puts the three together as `Workspace`.
"""

from __future__ import annotations

import random
import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

JSON = dict[str, Any]

DAY = 86_400
TWO_YEARS = 730 * DAY
DEFAULT_NOW = 1_790_812_800  # 2026-10-01T00:00:00Z


def start_of_day(ts: int, tz_offset: int | str = 0) -> int:
    """Start (unix seconds) of the day containing `ts`, in a timezone `tz_offset` seconds east of UTC, or
    in a named (IANA) zone, whose days around a daylight-saving change last 23 or 25 hours."""
    if isinstance(tz_offset, str):
        local = datetime.fromtimestamp(ts, ZoneInfo(tz_offset))
        return int(datetime(local.year, local.month, local.day, tzinfo=local.tzinfo).timestamp())
    return (ts + tz_offset) // DAY * DAY - tz_offset


def start_of_next_day(ts: int, tz_offset: int | str = 0) -> int:
    """Start of the day after the one containing `ts` (26 hours on is always in the next day)."""
    return start_of_day(start_of_day(ts, tz_offset) + 26 * 3600, tz_offset)


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


class WorkspaceState:
    """A workspace's stores and indexes (empty until generated), its clock, id counters, truth helpers."""

    # filled by the generators (generate/reference.py): the ids of the generated admins, tags and segments
    admin_ids: list[str]
    tag_ids: list[str]
    segment_ids: list[str]

    def __init__(self, seed: int, now: int) -> None:
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

    # ------------------------------------------------------------------------------------------------ helpers

    def _next(self, kind: str, start: int = 1) -> int:
        value = self._counters.get(kind, start)
        self._counters[kind] = value + 1
        return value

    def _invalidate(self, kind: str, obj_id: str) -> None:
        self.version += 1
        for variant in ("", ":list", ":full"):
            self.bytes_cache.pop((kind + variant, obj_id), None)

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
