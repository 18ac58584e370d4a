"""Search: results equal an independent brute-force evaluation; day-granular contact dates; lag; errors."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sim_client import Client

from intercom_sim import Workspace

DAY = 86_400

# field -> (kind, how to read it from the internal contact) for the reference evaluator
CONTACT_FIELDS: dict[str, str] = {
    "created_at": "date",
    "updated_at": "date",
    "last_seen_at": "date",
    "signed_up_at": "date",
    "email": "str",
    "name": "str",
    "role": "str",
    "location.country": "str",
    "external_id": "str",
    "owner_id": "int",
    "unsubscribed_from_emails": "bool",
    "has_hard_bounced": "bool",
    "tag_id": "tag",
    "custom_attributes.Plan Tier": "str",
    "custom_attributes.seats": "int",
    "custom_attributes.is Beta": "bool",
    "custom_attributes.Last Demo Date": "date",
    "custom_attributes.account.region": "str",
}
CONVERSATION_FIELDS: dict[str, str] = {
    "created_at": "int",
    "updated_at": "int",
    "state": "str",
    "open": "bool",
    "read": "bool",
    "source.type": "str",
    "admin_assignee_id": "int",
    "priority": "str",
    "statistics.count_conversation_parts": "int",
    "custom_attributes.Issue Type": "str",
    "custom_attributes.Order.Number": "int",
}
OPS = {
    "str": ["=", "!=", "IN", "NIN", "~", "!~", "^", "$"],
    "int": ["=", "!=", "IN", "NIN", "<", ">", "<=", ">="],
    "bool": ["=", "!=", "IN", "NIN"],
    "date": ["=", "<", ">"],
    "tag": ["=", "!="],
}


def read(obj: dict[str, Any], field: str) -> Any:
    if field == "tag_id":
        return {t["id"] for t in obj["tags"]["data"]}
    if field.startswith("custom_attributes."):
        return obj["custom_attributes"].get(field.split(".", 1)[1])
    value: Any = obj
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def reference(obj: dict[str, Any], query: dict[str, Any], kinds: dict[str, str], inclusive: bool) -> bool:
    if query["operator"] in ("AND", "OR"):
        results = [reference(obj, q, kinds, inclusive) for q in query["value"]]
        return all(results) if query["operator"] == "AND" else any(results)
    kind, op, want = kinds[query["field"]], query["operator"], query["value"]
    have = read(obj, query["field"])
    if kind == "tag":
        return (want in have) == (op == "=")
    if kind == "date":  # contact dates: whole UTC days
        if have is None:
            return False
        day = want - want % DAY
        return {"=": day <= have < day + DAY, ">": have >= day + DAY, "<": have < day}[op]
    if op == "=":
        return have == want
    if op == "!=":
        return have != want
    if op == "IN":
        return have in want
    if op == "NIN":
        return have not in want
    if op in ("<", ">", "<=", ">="):
        if not isinstance(have, int) or isinstance(have, bool):
            return False
        if inclusive and op in ("<", ">"):
            op += "="
        return {"<": have < want, ">": have > want, "<=": have <= want, ">=": have >= want}[op]
    text = have.lower() if isinstance(have, str) else None
    needle = want.lower()
    if op == "~":
        return text is not None and needle in text
    if op == "!~":
        return text is None or needle not in text
    if op == "^":
        return text is not None and text.startswith(needle)
    return text is not None and text.endswith(needle)


def random_filter(rng: random.Random, objects: list[dict[str, Any]], kinds: dict[str, str]) -> dict[str, Any]:
    field = rng.choice(sorted(kinds))
    kind = kinds[field]
    op = rng.choice(OPS[kind])
    samples = [read(o, field) for o in rng.sample(objects, 5)]
    if kind == "tag":
        pool = sorted(set().union(*samples)) or ["8000001"]
        return {"field": field, "operator": op, "value": rng.choice(pool)}
    present = [s for s in samples if s is not None] or ([0] if kind in ("int", "date") else ["x"])
    if kind == "bool":
        present = [True, False]
    if op in ("IN", "NIN"):
        return {"field": field, "operator": op, "value": list(dict.fromkeys(present[:3]))}
    value = rng.choice(present)
    if op in ("~", "!~", "^", "$") and isinstance(value, str) and value:
        value = value[:3] if op in ("~", "!~", "^") else value[-3:]
    return {"field": field, "operator": op, "value": value}


def random_query(rng: random.Random, objects: list[dict[str, Any]], kinds: dict[str, str]) -> dict[str, Any]:
    shape = rng.random()
    if shape < 0.4:
        return random_filter(rng, objects, kinds)
    if shape < 0.75:
        return {
            "operator": rng.choice(["AND", "OR"]),
            "value": [random_filter(rng, objects, kinds) for _ in range(rng.randint(2, 4))],
        }
    return {
        "operator": "AND",
        "value": [
            {"operator": "OR", "value": [random_filter(rng, objects, kinds) for _ in range(2)]},
            {"operator": "OR", "value": [random_filter(rng, objects, kinds) for _ in range(2)]},
        ],
    }


def search_all(
    client: Client, path: str, key: str, query: dict[str, Any], sort: dict[str, str] | None = None
) -> list[str]:
    ids: list[str] = []
    pagination: dict[str, Any] = {"per_page": 150}
    while True:
        body = {"query": query, "pagination": pagination, **({"sort": sort} if sort else {})}
        status, _, page = client.post(path, body)
        assert status == 200, (query, page)
        ids += [o["id"] for o in page[key]]
        nxt = page["pages"].get("next")
        if not nxt:
            return ids
        pagination = {"per_page": 150, "starting_after": nxt["starting_after"]}


def test_contact_search_matches_brute_force(client: Client, shared_ws: Workspace) -> None:
    rng = random.Random(2024)
    contacts = list(shared_ws.contacts.values())
    for _ in range(60):
        query = random_query(rng, contacts, CONTACT_FIELDS)
        expected = {c["id"] for c in contacts if reference(c, query, CONTACT_FIELDS, inclusive=False)}
        got = search_all(client, "/contacts/search", "data", query)
        assert len(got) == len(set(got))
        assert set(got) == expected, query


def test_conversation_search_matches_brute_force(client: Client, shared_ws: Workspace) -> None:
    rng = random.Random(99)
    conversations = list(shared_ws.conversations.values())
    for _ in range(60):
        query = random_query(rng, conversations, CONVERSATION_FIELDS)
        expected = {
            c["id"] for c in conversations if reference(c, query, CONVERSATION_FIELDS, inclusive=True)
        }
        assert set(search_all(client, "/conversations/search", "conversations", query)) == expected, query


def test_contact_dates_match_whole_days(fresh: Any) -> None:
    ws, _, client = fresh
    noon = ws.clock.now() - 10 * DAY + 12 * 3600
    ws.clock.set(noon)
    cid = next(iter(ws.contacts))
    ws.update_contact(cid, name="touched at noon")
    ws.clock.advance(3 * 3600)  # the same contact updated again later the same day
    ws.update_contact(cid, name="touched again at 15:00")
    updated = ws.contacts[cid]["updated_at"]

    def ids(op: str, value: int) -> set[str]:
        return set(
            search_all(
                client, "/contacts/search", "data", {"field": "updated_at", "operator": op, "value": value}
            )
        )

    assert cid in ids("=", noon)  # = matches the whole day
    assert cid not in ids(">", noon - 6 * 3600)  # > starts on the next day, though 15:00 > 06:00
    assert cid in ids(">", noon - DAY)
    assert cid not in ids("<", updated + 3600)  # < is before the day's start
    assert cid in ids("<", noon + DAY)


def test_contact_search_timezone_knob(fresh: Any) -> None:
    ws, server, client = fresh
    cid = next(iter(ws.contacts))
    midnight = ws.clock.now() - 5 * DAY
    ws.update_contact(cid, updated_at=midnight + 1800)  # 00:30 UTC = previous day in UTC-1
    query = {"field": "updated_at", "operator": "=", "value": midnight + 7200}
    assert cid in search_all(client, "/contacts/search", "data", query)
    server.knobs.search_timezone_offset = -3600
    assert cid not in search_all(client, "/contacts/search", "data", query)


def test_conversation_search_is_second_precise(fresh: Any) -> None:
    ws, _, client = fresh
    conv = next(iter(ws.conversations))
    ws.update_conversation(conv, updated_at=1_780_000_123)
    for op, value, hit in (
        (">", 1_780_000_123, True),
        (">", 1_780_000_124, False),
        ("<", 1_780_000_123, True),
        ("<", 1_780_000_122, False),
        ("=", 1_780_000_123, True),
        (">=", 1_780_000_124, False),
    ):
        got = search_all(
            client,
            "/conversations/search",
            "conversations",
            {"field": "updated_at", "operator": op, "value": value},
        )
        assert (conv in got) == hit, (op, value)


def test_search_lag_for_new_contacts(fresh: Any) -> None:
    ws, server, client = fresh
    server.knobs.search_lag_seconds = 300
    cid = ws.create_contact(name="Brand New 🆕", email="new@example.com")
    query = {"field": "email", "operator": "=", "value": "new@example.com"}
    assert search_all(client, "/contacts/search", "data", query) == []
    assert client.get(f"/contacts/{cid}")[0] == 200  # visible at once outside search
    assert cid in _list_all_ids(client)
    ws.clock.advance(299)
    assert search_all(client, "/contacts/search", "data", query) == []
    ws.clock.advance(1)
    assert search_all(client, "/contacts/search", "data", query) == [cid]


def _list_all_ids(client: Client) -> list[str]:
    ids: list[str] = []
    url = "/contacts?per_page=150"
    while True:
        page = client.ok("GET", url)
        ids += [c["id"] for c in page["data"]]
        if not page["pages"].get("next"):
            return ids
        url = f"/contacts?per_page=150&starting_after={page['pages']['next']['starting_after']}"


@pytest.mark.parametrize(
    "body, code",
    [
        (
            {"query": {"field": "created_at", "operator": ">=", "value": 1}},
            "bad_request",
        ),  # dates: only = < >
        ({"query": {"field": "created_at", "operator": "!=", "value": 1}}, "bad_request"),
        ({"query": {"field": "tag_id", "operator": "IN", "value": ["1"]}}, "bad_request"),
        ({"query": {"field": "email", "operator": "<", "value": "a"}}, "bad_request"),
        ({"query": {"field": "email", "operator": "LIKE", "value": "a"}}, "bad_request"),
        ({"query": {"field": "no_such_field", "operator": "=", "value": "a"}}, "parameter_invalid"),
        ({"query": {"field": "email", "operator": "IN", "value": "not-a-list"}}, "parameter_invalid"),
        (
            {"query": {"operator": "AND", "value": [{"field": "email", "operator": "=", "value": "x"}] * 16}},
            "parameter_invalid",
        ),
        ({"pagination": {"per_page": 5}}, "parameter_not_found"),
        (
            {
                "query": {"field": "email", "operator": "=", "value": "x"},
                "sort": {"field": "email", "order": "up"},
            },
            "invalid_sort_order",
        ),
    ],
)
def test_malformed_searches_are_400(client: Client, body: dict[str, Any], code: str) -> None:
    status, _, error = client.post("/contacts/search", body)
    assert status == 400
    assert error["type"] == "error.list" and error["errors"][0]["code"] == code


def test_invalid_json_body_is_400(client: Client) -> None:
    client.conn.request(
        "POST",
        "/contacts/search",
        body=b"{not json",
        headers={"Authorization": "Bearer sim-token", "Accept": "application/json"},
    )
    response = client.conn.getresponse()
    response.read()
    assert response.status == 400


def ranged_query(rng: random.Random, objects: list[dict[str, Any]], kinds: dict[str, str]) -> dict[str, Any]:
    """A backfill slice's shape: `updated_at` bounded on both sides or one, sometimes with another filter."""
    # half the bounds fall on a value some object has: an edge included or not shows
    low, high = sorted(
        rng.choice(objects)["updated_at"] + rng.choice([0, rng.randint(-DAY, DAY)]) for _ in range(2)
    )
    ops = OPS[kinds["updated_at"]]
    bounds = [
        {"field": "updated_at", "operator": rng.choice([op for op in ops if ">" in op]), "value": low},
        {"field": "updated_at", "operator": rng.choice([op for op in ops if "<" in op]), "value": high},
    ]
    filters = rng.sample(bounds, rng.randint(1, 2))
    if rng.random() < 0.3:
        filters.append(random_filter(rng, objects, kinds))
    if rng.random() < 0.2:
        filters.append({"field": "updated_at", "operator": "=", "value": rng.choice([low, high])})
    if rng.random() < 0.3:  # the connector's contact bound, `= day OR > day`, or ranges with a gap between
        operators = ("=", rng.choice([">", "<"]))
        either = [{"field": "updated_at", "operator": op, "value": low} for op in operators]
        apart = [bounds[0], {"field": "updated_at", "operator": "<", "value": low}]
        filters.append({"operator": "OR", "value": either if rng.random() < 0.7 else apart})
    return filters[0] if len(filters) == 1 else {"operator": "AND", "value": filters}


@pytest.mark.parametrize(
    ("path", "key", "kinds", "inclusive"),
    [
        ("/contacts/search", "data", CONTACT_FIELDS, False),
        ("/conversations/search", "conversations", CONVERSATION_FIELDS, True),
    ],
)
def test_searches_bounded_by_updated_at_match_brute_force(
    client: Client, shared_ws: Workspace, path: str, key: str, kinds: dict[str, str], inclusive: bool
) -> None:
    """Such searches test only the objects the `updated_at` index puts in their bounds, and those made of
    nothing but `updated_at` bounds test none (`Compiler.exact_bounds`): none is lost, none added."""
    store = shared_ws.contacts if key == "data" else shared_ws.conversations
    objects = list(store.values())
    rng = random.Random(13)
    for _ in range(120):
        query = ranged_query(rng, objects, kinds)
        expected = {o["id"] for o in objects if reference(o, query, kinds, inclusive)}
        status, _, page = client.post(path, {"query": query, "pagination": {"per_page": 1}})
        assert status == 200 and page["total_count"] == len(expected), query
        assert set(search_all(client, path, key, query)) == expected, query
        in_order = sorted(expected, key=lambda oid: (store[oid]["updated_at"], len(oid), oid))
        for order, listed in (("ascending", in_order), ("descending", in_order[::-1])):
            sort = {"field": "updated_at", "order": order}
            assert search_all(client, path, key, query, sort) == listed, (query, order)
