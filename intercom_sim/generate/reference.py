"""Generated reference data: admins and teams, tags, segments, subscription types, data attributes."""

from __future__ import annotations

from ..state import JSON
from .base import GeneratorBase, hex_id
from .vocabulary import CUSTOM_ATTRIBUTES, DOMAINS, FIRST_NAMES, LAST_NAMES, TAG_WORDS


class ReferenceGenerator(GeneratorBase):
    """The workspace's reference lists (drawn first: everything else refers to them)."""

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
            seg_id = hex_id(self._id_prefix + 3, i + 1)
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
                    self._custom_data_attribute(next_id, model, name, data_type, created, self._past(created))
                )

    def _custom_data_attribute(
        self, attribute_id: int, model: str, name: str, data_type: str, created: int, updated: int
    ) -> JSON:
        return {
            "type": "data_attribute",
            "id": attribute_id,
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
            "updated_at": updated,
            "admin_id": self.admin_ids[0],
        }
