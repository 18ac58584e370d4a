"""Generated help center content (help centers, collections, articles), news, activity logs, export rows."""

from __future__ import annotations

import uuid
from typing import Any

from ..state import DAY, JSON
from .base import GeneratorBase
from .vocabulary import ACTIVITY_TYPES, CONTENT_TYPES


class ContentGenerator(GeneratorBase):
    """Help center content, news items and newsfeeds, admin activity logs, content-export rows."""

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
