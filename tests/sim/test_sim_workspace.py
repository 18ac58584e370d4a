"""Generator determinism and realism, mutations and clock, counters, the /_sim/ control API."""

from __future__ import annotations

import json
from typing import Any

from sim_client import Client

from intercom_sim import Workspace, start
from intercom_sim.render import dumps


def _fingerprint(ws: Workspace) -> bytes:
    stores = [
        ws.contacts,
        ws.companies,
        ws.conversations,
        ws.tickets,
        ws.notes,
        ws.articles,
        ws.activity_logs,
    ]
    return dumps([list(s.values()) for s in stores] + [ws.events, ws.export_rows, ws.data_attributes])


def test_same_seed_same_bytes_other_seed_differs() -> None:
    sizes = {"contacts": 80, "companies": 10, "conversations": 10, "tickets": 5}
    assert _fingerprint(Workspace(seed=3, **sizes)) == _fingerprint(Workspace(seed=3, **sizes))
    assert _fingerprint(Workspace(seed=4, **sizes)) != _fingerprint(Workspace(seed=3, **sizes))


def test_realistic_mess(shared_ws: Workspace) -> None:
    contacts = list(shared_ws.contacts.values())
    blob = dumps(contacts).decode()
    assert any(ord(ch) > 0xFFFF for ch in blob)  # emoji
    assert any(c["name"] is None for c in contacts)
    assert any(c["name"] and len(c["name"]) > 200 for c in contacts)
    keys = {k for c in contacts for k in c["custom_attributes"]}
    assert any(" " in k for k in keys) and any("." in k for k in keys) and any(k != k.lower() for k in keys)
    stamps = [c["created_at"] for c in contacts]
    assert max(stamps) - min(stamps) > 600 * 86_400 and max(stamps) < shared_ws.clock.now()


def test_custom_attributes_match_data_attributes(client: Client, shared_ws: Workspace) -> None:
    python_types = {"string": str, "integer": int, "float": float, "boolean": bool, "date": int}
    for model, store in (
        ("contact", shared_ws.contacts),
        ("company", shared_ws.companies),
        ("conversation", shared_ws.conversations),
    ):
        attributes = client.ok("GET", f"/data_attributes?model={model}")["data"]
        custom = {a["name"]: a["data_type"] for a in attributes if a["custom"]}
        for obj in store.values():
            for key, value in obj["custom_attributes"].items():
                assert key in custom, (model, key)
                assert type(value) is python_types[custom[key]], (model, key, value)


def test_mutations_bump_updated_at_and_show_through_the_api(fresh: Any) -> None:
    ws, _, client = fresh
    cid = next(iter(ws.contacts))
    ws.clock.advance(3600)
    now = ws.clock.now()
    tag = next(t for t in ws.tags if t not in ws.contact_tag_ids(cid))
    ws.tag_contact(cid, tag)
    contact = client.ok("GET", f"/contacts/{cid}")
    assert contact["updated_at"] == now and tag in [
        t["id"] for t in client.ok("GET", f"/contacts/{cid}/tags")["data"]
    ]
    ws.untag_contact(cid, tag)
    assert tag not in [t["id"] for t in client.ok("GET", f"/contacts/{cid}/tags")["data"]]
    company = next(iter(ws.companies))
    ws.detach_company(cid, company)
    ws.attach_company(cid, company)
    assert company in [c["id"] for c in client.ok("GET", f"/contacts/{cid}/companies")["data"]]
    sub = next(s for s, t in ws.subscription_types.items() if t["consent_type"] == "opt_in")
    ws.set_subscription(cid, sub, "opt_in")
    assert (sub, "opt_in") in ws.contact_subscriptions(cid)
    opt_out_type = next(s for s, t in ws.subscription_types.items() if t["consent_type"] == "opt_out")
    ws.set_subscription(cid, opt_out_type, "opt_in")  # the default of an opt-out type: no explicit entry
    assert opt_out_type not in dict(ws.contact_subscriptions(cid))
    assert client.ok("GET", f"/contacts/{cid}")["opted_in_subscription_types"]["data"][-1]["id"] == sub
    ws.set_subscription(cid, sub, None)
    assert sub not in dict(ws.contact_subscriptions(cid))
    note = ws.add_note(cid, "<p>hello</p>")
    assert client.ok("GET", f"/notes/{note}")["body"] == "<p>hello</p>"
    ws.add_event(cid, "clicked")
    events = client.ok("GET", f"/events?type=user&intercom_user_id={cid}")["events"]
    assert events[0]["event_name"] == "clicked"
    ws.update_contact(cid, custom_attributes={"seats": 42})
    assert client.ok("GET", f"/contacts/{cid}")["custom_attributes"]["seats"] == 42

    conv = ws.create_conversation(contact_id=cid)
    ws.clock.advance(10)
    part = ws.add_conversation_part(conv, body="<p>more</p>")
    fetched = client.ok("GET", f"/conversations/{conv}")
    assert fetched["conversation_parts"]["conversation_parts"][-1]["id"] == part
    assert fetched["updated_at"] == ws.clock.now() and fetched["statistics"]["count_conversation_parts"] == 1
    ticket = ws.create_ticket()
    ws.update_ticket(ticket, ticket_state="resolved", open=False)
    assert client.ok("GET", f"/tickets/{ticket}")["ticket_state"] == "resolved"
    new_company = ws.create_company(name="Fresh Co")
    ws.update_company(new_company, industry="Robots")
    assert client.ok("GET", f"/companies/{new_company}")["industry"] == "Robots"
    ws.delete_company(new_company)
    assert client.get(f"/companies/{new_company}")[0] == 404
    log = ws.add_activity_log()
    logs = client.ok("GET", f"/admins/activity_logs?created_at_after={ws.clock.now() - 1}")["activity_logs"]
    assert log in [entry["id"] for entry in logs]


def test_counters_and_request_log(fresh: Any) -> None:
    ws, srv, client = fresh
    srv.reset_counters()
    cid = next(iter(ws.contacts))
    client.get(f"/contacts/{cid}")
    client.get(f"/contacts/{cid}")
    client.post("/contacts/search", {"query": {"field": "id", "operator": "=", "value": cid}})
    Client(srv.base_url, token="bad").get("/me")
    assert srv.counters == {"GET /contacts/{id}": 2, "POST /contacts/search": 1, "GET /me": 1}
    assert srv.request_count == 4 and srv.status_counts == {200: 3, 401: 1}
    method, path, headers = srv.request_log[-1]
    assert (method, path) == ("GET", "/me") and headers["Authorization"] == "<redacted>"


def test_control_api(fresh: Any) -> None:
    ws, srv, client = fresh
    before = ws.clock.now()
    assert client.ok("POST", "/_sim/clock", {"advance": 60})["now"] == before + 60
    assert client.ok("POST", "/_sim/clock", {"set": before})["now"] == before
    knobs = client.ok("POST", "/_sim/knobs", {"search_lag_seconds": 30, "plan_restricted": ["GET /teams"]})
    assert knobs["search_lag_seconds"] == 30 and srv.knobs.plan_restricted == frozenset({"GET /teams"})
    cid = next(iter(ws.contacts))
    client.ok("POST", "/_sim/mutate", {"op": "update_contact", "args": [cid], "kwargs": {"name": "Renamed"}})
    assert ws.contacts[cid]["name"] == "Renamed"
    counters = client.ok("GET", "/_sim/counters")
    assert "counters" in counters and not any(k.startswith("GET /_sim") for k in counters["counters"])


def test_cli_parses_knobs() -> None:
    from intercom_sim.__main__ import parse_args

    args = parse_args(
        ["--port", "0", "--contacts", "5", "--rate-limit", "0", "--fault-rate", "0.1", "--token", "t"]
    )
    assert (args.contacts, args.rate_limit, args.fault_rate, args.token) == (5, 0, 0.1, "t")


def test_start_and_stop_frees_the_port() -> None:
    srv = start(Workspace(seed=1, contacts=5, companies=2, conversations=2, tickets=1), port=0)
    status, _, me = Client(srv.base_url).get("/me")
    assert status == 200 and me["type"] == "admin" and json.dumps(me)
    srv.stop()
