"""What every generator draws with: ids, past timestamps, lorem texts, custom attributes, tag references.

All draws come from the workspace's seeded `rng` (or its `_aux_rng`), in a fixed order: moving a draw changes
the generated data of every seed.
"""

from __future__ import annotations

from typing import Any

from ..state import JSON, TWO_YEARS, WorkspaceState
from .vocabulary import CUSTOM_ATTRIBUTES, LOREM, LOREM_RING


def hex_id(prefix: int, n: int) -> str:
    return f"{prefix:08x}{n:016x}"


class GeneratorBase(WorkspaceState):
    """Shared draws of the generators (mixed into Workspace through `generate.Generator`)."""

    def _past(self, earliest: int | None = None) -> int:
        """A timestamp in the two years before the clock's start (not before `earliest`)."""
        now = self.clock.now()
        low = max(earliest if earliest is not None else now - TWO_YEARS, now - TWO_YEARS)
        return self.rng.randint(low, now - 1) if low < now - 1 else now - 1

    def _words(self, n: int) -> str:
        start = self.rng.randrange(len(LOREM))  # one draw per text: generation speed matters (200k contacts)
        return " ".join(LOREM_RING[start : start + n])

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

    def _tag_basic(self, tag_id: str) -> JSON:
        tag = self.tags[tag_id]
        return {"type": "tag", "id": tag["id"], "name": tag["name"]}

    def _random_contact(self) -> JSON | None:
        if len(self._contact_id_list) != len(self.contacts):
            self._contact_id_list = list(self.contacts)
        return self.contacts[self.rng.choice(self._contact_id_list)] if self._contact_id_list else None
