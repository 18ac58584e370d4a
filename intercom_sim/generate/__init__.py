"""Seeded generation of a workspace: one mixin per object family, run in a fixed order by `_generate`.

The order and number of draws from the workspace's `rng` make the data: the same seed and sizes give the
same workspace, ids included. Modules:

* `vocabulary` -- word lists; `base` -- shared draws (ids, timestamps, texts, custom attributes);
* `reference` -- admins, teams, tags, segments, subscription types, data attributes;
* `people` -- companies, contacts and their relations (tags, companies, subscriptions, notes, events);
* `conversations` -- conversations, ticket types, tickets;
* `content` -- help center content, news, activity logs, content-export rows.
"""

from __future__ import annotations

from typing import Any

from .content import ContentGenerator
from .conversations import ConversationGenerator
from .people import PeopleGenerator
from .reference import ReferenceGenerator

__all__ = ["Generator"]


class Generator(ReferenceGenerator, PeopleGenerator, ConversationGenerator, ContentGenerator):
    """Every generator of a workspace, and the order they run in."""

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
