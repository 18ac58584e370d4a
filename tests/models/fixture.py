"""A hand-built workspace for the analytics models, with the exact value every model column must have.

Days are UTC: D0 starts at `T`, D1 at T + 1 day. Admins A1, A2 (on two teams), A3; teams Support (A1, A2) and
Billing (A2); contacts U1 (in two companies), U2, U3 (no conversations), U4 (a lead); companies Acme, Globex,
Initech (no contacts). A bot author is not an admin.

- V1 (U1, D0 01:00, customer, Support, A1, closed, rated 5 for A1): an assignment, a note, a bot comment,
  the first admin comment at +10 min, a bot close at +20, a reopen by the user, an admin close by A2 at +50.
- V2 (U2, D0 02:00, admin-initiated, Billing, A2, snoozed, unrated, SLA missed): A2 comments at +5, snoozes.
- V3 (U1, D1 01:00, customer, A2, open, rated 3 for A2): no parts at all.
- V4 (U2, D1 02:00, customer, Support, A1, closed, rated 4 for A1): 502 parts, over the 500-part cap: the two
  oldest are cut; the first loaded admin comment is at +2 min, A1 closes at +5000 s.
- V5 (U4, D1 23:00, customer, closed, unrated): only an admin close by A3 on D2, at +120 min.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import intercom_sim
from intercom_sim.workspace import DAY, start_of_day

BOT = {"type": "bot", "id": "7770001", "name": "Fin", "email": ""}


@dataclass
class Fixture:
    workspace: Any
    t: int
    ids: dict[str, str] = field(default_factory=dict)

    def at(self, seconds: int) -> float:
        """An instant as unix seconds (what the tests compare)."""
        return float(self.t + seconds)


def build() -> Fixture:
    ws = intercom_sim.Workspace(
        seed=12,
        contacts=0,
        companies=0,
        conversations=0,
        tickets=0,
        admins=3,
        teams=2,
        tags=3,
        segments=0,
        articles=0,
        help_centers=0,
        collections=0,
        news_items=0,
        newsfeeds=0,
        activity_logs=0,
        export_rows=0,
    )
    fx = Fixture(ws, start_of_day(ws.clock.now()) - 5 * DAY)
    _people(fx)
    _conversations(fx)
    ws.clock.advance(60)
    return fx


def _people(fx: Fixture) -> None:
    ws, ids = fx.workspace, fx.ids
    ids["A1"], ids["A2"], ids["A3"] = ws.admin_ids[:3]
    support, billing = sorted(ws.teams)
    ids["Support"], ids["Billing"] = support, billing
    memberships = {ids["A1"]: [support], ids["A2"]: [support, billing], ids["A3"]: []}
    for admin_id, teams in memberships.items():
        ws.admins[admin_id]["team_ids"] = [int(team) for team in teams]
    for team, name in ((support, "Support"), (billing, "Billing")):
        members = [int(admin) for admin, teams in memberships.items() if team in teams]
        ws.teams[team].update(name=name, admin_ids=members)
    for tag_id, name in zip(sorted(ws.tags), ("billing", "vip", "bug"), strict=True):
        ws.tags[tag_id]["name"] = name
        ids[name] = tag_id
    for key, name in (("Acme", "Acme"), ("Globex", "Globex"), ("Initech", "Initech")):
        ids[key] = ws.create_company(name=name, tags={"type": "tag.list", "tags": []}, plan={})
    ws.companies[ids["Acme"]]["tags"]["tags"] = [ws._tag_basic(ids["vip"])]
    for key, name, role in (
        ("U1", "Ann", "user"),
        ("U2", "Ben", "user"),
        ("U3", "Cy", "user"),
        ("U4", "Dee", "lead"),
    ):
        ids[key] = ws.create_contact(name=name, role=role, email=f"{name.lower()}@example.com")
    ws.tag_contact(ids["U1"], ids["vip"])
    ws.tag_contact(ids["U1"], ids["billing"])
    ws.attach_company(ids["U1"], ids["Acme"])
    ws.attach_company(ids["U1"], ids["Globex"])
    ws.attach_company(ids["U2"], ids["Globex"])


def _conversations(fx: Fixture) -> None:
    ids = fx.ids
    hour = 3600
    v1 = _conversation(
        fx, "V1", "U1", hour, "customer_initiated", "closed", "A1", "Support", ("vip", "billing")
    )
    _rate(fx, v1, 5, "A1")
    _statistics(
        v1,
        time_to_admin_reply=300,
        time_to_first_close=1200,
        time_to_last_close=3000,
        median_time_to_reply=450,
    )
    _parts(
        fx,
        v1,
        [
            (60, "assignment", "A1"),
            (120, "note", "A1"),
            (180, "comment", BOT),
            (600, "comment", "A1"),
            (1200, "close", BOT),
            (1800, "open", "U1"),
            (3000, "close", "A2"),
        ],
    )
    v2 = _conversation(fx, "V2", "U2", 2 * hour, "admin_initiated", "snoozed", "A2", "Billing", ())
    v2["sla_applied"] = {
        "type": "conversation_sla_summary",
        "sla_name": "First reply 1h",
        "sla_status": "missed",
    }
    _statistics(v2, time_to_admin_reply=300)
    _parts(fx, v2, [(300, "comment", "A2"), (400, "snoozed", "A2")])
    v3 = _conversation(fx, "V3", "U1", DAY + hour, "customer_initiated", "open", "A2", None, ())
    v3["waiting_since"] = fx.t + DAY + hour
    _rate(fx, v3, 3, "A2")
    v4 = _conversation(
        fx, "V4", "U2", DAY + 2 * hour, "customer_initiated", "closed", "A1", "Support", ("bug",)
    )
    _rate(fx, v4, 4, "A1")
    _parts(
        fx,
        v4,
        [(10, "comment", "U2"), (20, "comment", "A1"), (120, "comment", "A1")]
        + [(200 + i, "comment", "U2") for i in range(498)]
        + [(5000, "close", "A1")],
    )
    v5 = _conversation(fx, "V5", "U4", DAY + 23 * hour, "customer_initiated", "closed", None, None, ())
    _parts(fx, v5, [(2 * hour, "close", "A3")])
    del ids  # the conversations' ids are in fx.ids


def _conversation(
    fx: Fixture,
    key: str,
    contact: str,
    offset: int,
    delivered_as: str,
    state: str,
    admin: str | None,
    team: str | None,
    tags: tuple[str, ...],
) -> dict[str, Any]:
    ws, ids = fx.workspace, fx.ids
    created = fx.t + offset
    conversation_id = ws._gen_conversation(ids[contact], created=created, n_parts=0)
    ids[key] = conversation_id
    conversation = ws.conversations[conversation_id]
    conversation.update(
        created_at=created,
        updated_at=created,
        state=state,
        open=state != "closed",
        waiting_since=None,
        snoozed_until=fx.t + 10 * DAY if state == "snoozed" else None,
        admin_assignee_id=int(ids[admin]) if admin else None,
        team_assignee_id=int(ids[team]) if team else None,
        conversation_rating=None,
        sla_applied=None,
        ai_agent_participated=False,
        ai_agent=None,
    )
    conversation["source"].update(type="conversation", delivered_as=delivered_as)
    applied = {"type": "admin", "id": ids["A1"]}
    conversation["tags"]["tags"] = [
        {**ws._tag_basic(ids[tag]), "applied_at": created, "applied_by": applied} for tag in tags
    ]
    _statistics(conversation)
    return conversation


def _rate(fx: Fixture, conversation: dict[str, Any], rating: int, admin: str) -> None:
    contact = conversation["contacts"]["contacts"][0]
    conversation["conversation_rating"] = {
        "rating": rating,
        "remark": f"rated {rating}",
        "created_at": conversation["created_at"] + 7200,
        "contact": {"type": "contact", "id": contact["id"], "external_id": None},
        "teammate": {"type": "admin", "id": fx.ids[admin]},
    }


def _statistics(conversation: dict[str, Any], **seconds: int) -> None:
    """The API's statistics: all null but those given (and the part count, set with the parts)."""
    statistics = conversation["statistics"]
    for key in list(statistics):
        if key not in ("type", "count_conversation_parts"):
            statistics[key] = None
    statistics.update(seconds)


def _parts(fx: Fixture, conversation: dict[str, Any], parts: list[tuple[int, str, Any]]) -> None:
    ws = fx.workspace
    for offset, part_type, author in parts:
        ts = conversation["created_at"] + offset
        admin = ws.admins[fx.ids[author]] if isinstance(author, str) and author.startswith("A") else None
        ws._append_part(conversation, part_type, "<p>part</p>", ts, admin)
        part = conversation["conversation_parts"]["conversation_parts"][-1]
        if isinstance(author, dict):
            part["author"] = dict(author)
        elif author.startswith("U"):
            contact = ws.contacts[fx.ids[author]]
            part["author"] = {
                "type": contact["role"],
                "id": contact["id"],
                "name": contact["name"],
                "email": contact["email"],
            }
        conversation["updated_at"] = max(conversation["updated_at"], ts)
    ws._invalidate("conversation", conversation["id"])


def expected(fx: Fixture) -> dict[str, dict[str, dict[str, Any]]]:
    """Every mart's rows by key, every column."""
    ids, at = fx.ids, fx.at
    hour = 3600
    v1, v2, v3, v4, v5 = (ids[f"V{n}"] for n in range(1, 6))
    a1, a2, a3 = ids["A1"], ids["A2"], ids["A3"]
    lowest_of_u1 = min(ids["Acme"], ids["Globex"])
    null_times = dict.fromkeys(
        (
            "first_admin_response_at",
            "first_response_admin_id",
            "first_close_at",
            "last_close_at",
            "first_admin_close_at",
            "last_admin_close_at",
            "last_closed_by_admin_id",
            "minutes_to_first_admin_response",
            "minutes_to_first_close",
            "minutes_to_last_close",
            "time_to_admin_reply_minutes",
            "time_to_first_close_minutes",
            "time_to_last_close_minutes",
            "median_time_to_reply_minutes",
        )
    )
    unrated = {"rating": None, "rating_remark": None, "rated_at": None, "rating_teammate_id": None}
    conversations = {
        v1: {
            **null_times,
            "created_at": at(hour),
            "state": "closed",
            "is_open": False,
            "waiting_since": None,
            "snoozed_until": None,
            "source_type": "conversation",
            "source_delivered_as": "customer_initiated",
            "admin_assignee_id": a1,
            "team_assignee_id": ids["Support"],
            "tags": ["billing", "vip"],
            "first_contact_id": ids["U1"],
            "first_contact_company_id": lowest_of_u1,
            "rating": 5,
            "rating_remark": "rated 5",
            "rated_at": at(hour + 7200),
            "rating_teammate_id": a1,
            "sla_name": None,
            "sla_status": None,
            "count_parts": 7,
            "count_reopens": 1,
            "count_assignments": 1,
            "first_admin_response_at": at(hour + 600),
            "first_response_admin_id": a1,
            "first_close_at": at(hour + 1200),
            "last_close_at": at(hour + 3000),
            "first_admin_close_at": at(hour + 3000),
            "last_admin_close_at": at(hour + 3000),
            "last_closed_by_admin_id": a2,
            "minutes_to_first_admin_response": 10.0,
            "minutes_to_first_close": 20.0,
            "minutes_to_last_close": 50.0,
            "time_to_admin_reply_minutes": 5.0,
            "time_to_first_close_minutes": 20.0,
            "time_to_last_close_minutes": 50.0,
            "median_time_to_reply_minutes": 7.5,
            "count_conversation_parts": 7,
        },
        v2: {
            **null_times,
            **unrated,
            "created_at": at(2 * hour),
            "state": "snoozed",
            "is_open": True,
            "waiting_since": None,
            "snoozed_until": at(10 * DAY),
            "source_type": "conversation",
            "source_delivered_as": "admin_initiated",
            "admin_assignee_id": a2,
            "team_assignee_id": ids["Billing"],
            "tags": None,
            "first_contact_id": ids["U2"],
            "first_contact_company_id": ids["Globex"],
            "sla_name": "First reply 1h",
            "sla_status": "missed",
            "count_parts": 2,
            "count_reopens": 0,
            "count_assignments": 0,
            "first_admin_response_at": at(2 * hour + 300),
            "first_response_admin_id": a2,
            "minutes_to_first_admin_response": 5.0,
            "time_to_admin_reply_minutes": 5.0,
            "count_conversation_parts": 2,
        },
        v3: {
            **null_times,
            "created_at": at(DAY + hour),
            "state": "open",
            "is_open": True,
            "waiting_since": at(DAY + hour),
            "snoozed_until": None,
            "source_type": "conversation",
            "source_delivered_as": "customer_initiated",
            "admin_assignee_id": a2,
            "team_assignee_id": None,
            "tags": None,
            "first_contact_id": ids["U1"],
            "first_contact_company_id": lowest_of_u1,
            "rating": 3,
            "rating_remark": "rated 3",
            "rated_at": at(DAY + hour + 7200),
            "rating_teammate_id": a2,
            "sla_name": None,
            "sla_status": None,
            "count_parts": 0,
            "count_reopens": 0,
            "count_assignments": 0,
            "count_conversation_parts": 0,
        },
        v4: {
            **null_times,
            "created_at": at(DAY + 2 * hour),
            "state": "closed",
            "is_open": False,
            "waiting_since": None,
            "snoozed_until": None,
            "source_type": "conversation",
            "source_delivered_as": "customer_initiated",
            "admin_assignee_id": a1,
            "team_assignee_id": ids["Support"],
            "tags": ["bug"],
            "first_contact_id": ids["U2"],
            "first_contact_company_id": ids["Globex"],
            "rating": 4,
            "rating_remark": "rated 4",
            "rated_at": at(DAY + 2 * hour + 7200),
            "rating_teammate_id": a1,
            "sla_name": None,
            "sla_status": None,
            "count_parts": 500,
            "count_reopens": 0,
            "count_assignments": 0,
            "first_admin_response_at": at(DAY + 2 * hour + 120),
            "first_response_admin_id": a1,
            "first_close_at": at(DAY + 2 * hour + 5000),
            "last_close_at": at(DAY + 2 * hour + 5000),
            "first_admin_close_at": at(DAY + 2 * hour + 5000),
            "last_admin_close_at": at(DAY + 2 * hour + 5000),
            "last_closed_by_admin_id": a1,
            "minutes_to_first_admin_response": 2.0,
            "minutes_to_first_close": 5000 / 60,
            "minutes_to_last_close": 5000 / 60,
            "count_conversation_parts": 502,
        },
        v5: {
            **null_times,
            **unrated,
            "created_at": at(DAY + 23 * hour),
            "state": "closed",
            "is_open": False,
            "waiting_since": None,
            "snoozed_until": None,
            "source_type": "conversation",
            "source_delivered_as": "customer_initiated",
            "admin_assignee_id": None,
            "team_assignee_id": None,
            "tags": None,
            "first_contact_id": ids["U4"],
            "first_contact_company_id": None,
            "sla_name": None,
            "sla_status": None,
            "count_parts": 1,
            "count_reopens": 0,
            "count_assignments": 0,
            "first_close_at": at(DAY + 25 * hour),
            "last_close_at": at(DAY + 25 * hour),
            "first_admin_close_at": at(DAY + 25 * hour),
            "last_admin_close_at": at(DAY + 25 * hour),
            "last_closed_by_admin_id": a3,
            "minutes_to_first_close": 120.0,
            "minutes_to_last_close": 120.0,
            "count_conversation_parts": 1,
        },
    }
    no_conversations = {
        "count_conversations_assigned": 0,
        "count_open_assigned": 0,
        "count_snoozed_assigned": 0,
    }
    admins = {
        a1: {
            "team_names": ["Support"],
            "count_conversations_assigned": 2,
            "count_open_assigned": 0,
            "count_snoozed_assigned": 0,
            "count_conversations_closed": 1,
            "median_minutes_to_first_admin_response": 6.0,
            "count_rated": 2,
            "csat": 1.0,
        },
        a2: {
            "team_names": ["Billing", "Support"],
            "count_conversations_assigned": 2,
            "count_open_assigned": 1,
            "count_snoozed_assigned": 1,
            "count_conversations_closed": 1,
            "median_minutes_to_first_admin_response": 5.0,
            "count_rated": 1,
            "csat": 0.0,
        },
        a3: {
            **no_conversations,
            "team_names": None,
            "count_conversations_closed": 1,
            "median_minutes_to_first_admin_response": None,
            "count_rated": 0,
            "csat": None,
        },
    }
    teams = {
        ids["Support"]: {
            "name": "Support",
            "count_admins": 2,
            "count_conversations_assigned": 2,
            "count_conversations_closed": 2,
            "count_open": 0,
            "count_snoozed": 0,
            "median_minutes_to_first_admin_response": 6.0,
            "count_rated": 2,
            "csat": 1.0,
        },
        ids["Billing"]: {
            "name": "Billing",
            "count_admins": 1,
            "count_conversations_assigned": 1,
            "count_conversations_closed": 0,
            "count_open": 0,
            "count_snoozed": 1,
            "median_minutes_to_first_admin_response": 5.0,
            "count_rated": 0,
            "csat": None,
        },
    }
    companies = {
        ids["Acme"]: {
            "name": "Acme",
            "tags": ["vip"],
            "count_conversations": 2,
            "median_minutes_to_first_admin_response": 10.0,
            "count_rated": 2,
            "csat": 0.5,
        },
        ids["Globex"]: {
            "name": "Globex",
            "tags": None,
            "count_conversations": 4,
            "median_minutes_to_first_admin_response": 5.0,
            "count_rated": 3,
            "csat": 2 / 3,
        },
        ids["Initech"]: {
            "name": "Initech",
            "tags": None,
            "count_conversations": 0,
            "median_minutes_to_first_admin_response": None,
            "count_rated": 0,
            "csat": None,
        },
    }
    contacts = {
        ids["U1"]: {
            "role": "user",
            "name": "Ann",
            "tags": ["billing", "vip"],
            "company_names": ["Acme", "Globex"],
            "count_conversations": 2,
            "last_conversation_at": at(DAY + hour),
        },
        ids["U2"]: {
            "role": "user",
            "name": "Ben",
            "tags": None,
            "company_names": ["Globex"],
            "count_conversations": 2,
            "last_conversation_at": at(DAY + 2 * hour),
        },
        ids["U3"]: {
            "role": "user",
            "name": "Cy",
            "tags": None,
            "company_names": None,
            "count_conversations": 0,
            "last_conversation_at": None,
        },
        ids["U4"]: {
            "role": "lead",
            "name": "Dee",
            "tags": None,
            "company_names": None,
            "count_conversations": 1,
            "last_conversation_at": at(DAY + 23 * hour),
        },
    }
    day = fx.t // DAY * DAY
    days = {
        day: {
            "count_conversations": 2,
            "count_customer_initiated": 1,
            "count_admin_initiated": 1,
            "count_automated": 0,
            "count_first_closes": 1,
            "median_minutes_to_first_admin_response": 7.5,
            "count_still_open": 1,
        },
        day + DAY: {
            "count_conversations": 3,
            "count_customer_initiated": 3,
            "count_admin_initiated": 0,
            "count_automated": 0,
            "count_first_closes": 1,
            "median_minutes_to_first_admin_response": 2.0,
            "count_still_open": 1,
        },
        day + 2 * DAY: {
            "count_conversations": 0,
            "count_customer_initiated": 0,
            "count_admin_initiated": 0,
            "count_automated": 0,
            "count_first_closes": 1,
            "median_minutes_to_first_admin_response": None,
            "count_still_open": 0,
        },
    }
    completeness = {
        v4: {"count_conversation_parts": 502, "count_parts_loaded": 500, "count_parts_missing": 1},
    }
    return {
        "intercom__conversation_metrics": conversations,
        "intercom__admin_metrics": admins,
        "intercom__team_metrics": teams,
        "intercom__company_metrics": companies,
        "intercom__contact_enhanced": contacts,
        "intercom__daily_conversations": days,
        "intercom__parts_completeness": completeness,
    }
