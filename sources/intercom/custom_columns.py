"""The column each custom attribute loads into: one column per attribute, named the same in every run.

dlt's snake_case naming alone loads `Plan Type`, `plan_type` and `PlanType` into the one column
`custom_attributes__plan_type` (the later key of a record winning) and every non-Latin name into
`custom_attributes__x`. Here each of a model's custom attributes gets a column of its own
(README, "Table shapes"):

1. Its readable name: accents folded (`référence client` -> `reference_client`), Cyrillic and a few Latin
   letters transliterated (`имя` -> `imya`, `ß` -> `ss`), then dlt's snake_case (`Plan Type` -> `plan_type`).
2. The attributes of GET /data_attributes take their columns oldest first (`created_at`, then `id`, then
   the name): each takes its readable name, unless an older attribute took it already, or letters were lost
   on the way (`名前`, which dlt would make `x`). Then it takes the readable name, `_` and the first 6 hex
   digits of the SHA-256 of its name (`plan_type_3f9a1c`; more digits in the unlikely case those are taken).
3. A key of a record the list does not name (an attribute created after the list was read) has the list
   read again once (per model and run); a key still not listed takes the hashed name.

The list holds archived attributes too, and Intercom archives attributes but does not delete them, so
the list only grows and every new attribute is newer than the existing ones. A new attribute therefore
never takes a column an older one loads into: the same attribute keeps its column in every run and every
pipeline, and a column never changes meaning, whichever attributes a page holds and in whatever order.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.common.schema.typing import TTableSchemaColumns

CUSTOM_ATTRIBUTES: Final = "custom_attributes"
HASH_DIGITS: Final = 6
COLUMN_NAME: Final = "column_name"
COLUMN_NAME_HINT: Final[TTableSchemaColumns] = {COLUMN_NAME: {"data_type": "text", "nullable": True}}
"""The `data_attributes` column naming the column each custom attribute loads into."""

_NAMING = NamingConvention()

_CYRILLIC: Final = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяєіїґ",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya ye i yi g".split(),
        strict=True,
    )
)
_LATIN: Final = {"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th"}


_TO_LATIN: Final = {letter: latin.strip("-") for letter, latin in {**_CYRILLIC, **_LATIN}.items()}


def transliterated(name: str) -> str:
    """Cyrillic and the Latin letters without a decomposition in Latin; a capital stays one letter of a
    capitalized word (`Я` -> `Ya`) or of an upper-case one (`ИМЯ` -> `IMYA`), so snake_case splits no word."""
    parts = []
    for index, char in enumerate(name):
        latin = _TO_LATIN.get(char.lower())
        if latin is None or char.islower():
            parts.append(char if latin is None else latin)
            continue
        neighbour = name[index + 1 : index + 2] or name[index - 1 : index]
        parts.append(latin.upper() if neighbour.isupper() else latin.capitalize())
    return "".join(parts)


def folded(name: str) -> str:
    """`name` with accents folded and Cyrillic transliterated: `Référence` -> `Reference`, `Имя` -> `Imya`."""
    decomposed = unicodedata.normalize("NFKD", transliterated(name))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def readable_name(name: str) -> str:
    """The snake_case name of an attribute before any suffix: `Référence client` -> `reference_client`."""
    return _NAMING.normalize_identifier(folded(name))


def loses_letters(name: str) -> bool:
    """Whether a letter or digit of `name` has no ASCII form (`名前`): its readable name alone says too
    little, and would be shared by every other such name."""
    return any(char.isalnum() and not char.isascii() for char in folded(name))


def hashed_name(name: str, digits: int = HASH_DIGITS) -> str:
    """The readable name with `digits` hex digits of the name's SHA-256: `plan_type_3f9a1c`."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
    return f"{readable_name(name)}_{digest[:digits]}"


def claim(name: str, taken: Iterable[str], plain_allowed: bool = True) -> str:
    """The first free name of `name`'s candidates: the readable name (where allowed and no letter was
    lost), then the hashed names with ever more digits."""
    taken = set(taken)
    if plain_allowed and not loses_letters(name) and readable_name(name) not in taken:
        return readable_name(name)
    for digits in range(HASH_DIGITS, 65, 2):
        if hashed_name(name, digits) not in taken:
            return hashed_name(name, digits)
    raise ValueError(f"no free column for custom attribute {name!r}")  # 30 names with one SHA-256: never


def creation_order(attribute: Mapping[str, Any]) -> tuple[int, int, str]:
    def number(key: str) -> int:
        value = attribute.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return number("created_at"), number("id"), str(attribute.get("name"))


def assign(
    attributes: Iterable[Mapping[str, Any]], assigned: Mapping[str, str] | None = None
) -> dict[str, str]:
    """`assigned` (custom attribute name -> the key it loads as) with the custom attributes among
    `attributes` not in it yet, oldest first."""
    result = dict(assigned or {})
    newcomers = [a for a in attributes if a.get("custom") and isinstance(a.get("name"), str)]
    for attribute in sorted(newcomers, key=creation_order):
        if attribute["name"] not in result:
            result[attribute["name"]] = claim(attribute["name"], result.values())
    return result


class CustomColumns:
    """The custom attributes of one model (contact, company, conversation) -> the keys they load as.

    A key is what dlt's normalizer flattens into `custom_attributes__<key>` (it is already snake_case, so
    dlt keeps it as it is); `column` is that flattened column. `reread` reads GET /data_attributes of the
    model again, for a key the list did not name.
    """

    def __init__(
        self,
        attributes: Iterable[Mapping[str, Any]],
        reread: Callable[[], Iterable[Mapping[str, Any]]] | None = None,
    ) -> None:
        self._keys = assign(attributes)
        self._listed = frozenset(self._keys)
        self._reread = reread
        self._lock = threading.Lock()

    def key(self, name: str) -> str:
        """The key custom attribute `name` loads as (see the module's rule)."""
        key = self._keys.get(name)
        if key is not None:
            return key
        with self._lock:
            if name not in self._keys and self._reread is not None:
                reread, self._reread = self._reread, None
                self._keys = assign(reread(), self._keys)
                self._listed = frozenset(self._keys)
            if name not in self._keys:
                listed = {self._keys[listed] for listed in self._listed}
                self._keys[name] = claim(name, listed, plain_allowed=False)
            return self._keys[name]

    def column(self, name: str) -> str:
        """The column of custom attribute `name`: `Plan Type` -> `custom_attributes__plan_type`."""
        return _NAMING.shorten_fragments(CUSTOM_ATTRIBUTES, self.key(name))

    def listed_column(self, name: str) -> str | None:
        """The column of an attribute GET /data_attributes lists (None for another name)."""
        return self.column(name) if name in self._listed else None

    def renamed(self, custom_attributes: Mapping[str, Any]) -> dict[str, Any]:
        """A record's `custom_attributes` keyed by the keys they load as, for dlt's normalizer."""
        return {self.key(name): value for name, value in custom_attributes.items()}
