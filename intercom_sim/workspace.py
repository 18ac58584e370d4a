"""A deterministic in-memory Intercom workspace: `Workspace(seed, sizes...)`, generated at construction.

The class is put together from three parts:

* `state.py` -- the data (stores, indexes, clock, version, byte cache) and the truth accessors tests read;
* `generate/` -- the seeded generators that fill the stores;
* `mutations.py` -- the mutations (`update_contact`, `create_contact`, `add_conversation_part`, ...).

The names below stay importable from here (`from intercom_sim.workspace import JSON, DAY, Clock, ...`).
"""

from __future__ import annotations

from .generate.vocabulary import (
    ACTIVITY_TYPES,
    BROWSERS,
    CONTENT_TYPES,
    COUNTRIES,
    CUSTOM_ATTRIBUTES,
    DOMAINS,
    FIRST_NAMES,
    INDUSTRIES,
    LANGUAGES,
    LAST_NAMES,
    LOREM,
    OSES,
    PART_TYPES,
    SOURCE_TYPES,
    TAG_WORDS,
    TICKET_CATEGORIES,
    TICKET_STATES,
    UNICODE_NAMES,
)
from .mutations import Mutations
from .state import DAY, DEFAULT_NOW, JSON, TWO_YEARS, Clock, start_of_day

__all__ = [
    "ACTIVITY_TYPES",
    "BROWSERS",
    "CONTENT_TYPES",
    "COUNTRIES",
    "CUSTOM_ATTRIBUTES",
    "DAY",
    "DEFAULT_NOW",
    "DOMAINS",
    "FIRST_NAMES",
    "INDUSTRIES",
    "JSON",
    "LANGUAGES",
    "LAST_NAMES",
    "LOREM",
    "OSES",
    "PART_TYPES",
    "SOURCE_TYPES",
    "TAG_WORDS",
    "TICKET_CATEGORIES",
    "TICKET_STATES",
    "TWO_YEARS",
    "UNICODE_NAMES",
    "Clock",
    "Workspace",
    "start_of_day",
]


class Workspace(Mutations):
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
        super().__init__(seed, now)  # empty stores, the clock at `now`
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
