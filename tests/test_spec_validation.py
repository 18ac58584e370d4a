"""Tests of tests/spec_validation.py against the spec's own response examples (no simulator needed)."""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    from tests import spec_validation as sv
except ModuleNotFoundError:  # plain `pytest` run without the repository root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests import spec_validation as sv

# Examples that contradict their schema and are *not* fixed by an override, because the example documents a
# response that is not the declared object at all. Each must keep failing (strict xfail): a fix shows up.
EXCLUDED_EXAMPLES: dict[tuple[str, str, str, str], str] = sv.EXAMPLES_NOT_OF_THEIR_SCHEMA


def _json_examples(two_xx: bool) -> Iterator[tuple[str, str, str, str, Any]]:
    for template, item in sv.load_spec()["paths"].items():
        for method in sv.HTTP_METHODS:
            for status, response in item.get(method, {}).get("responses", {}).items():
                if status.startswith("2") != two_xx:
                    continue
                media = response.get("content", {}).get("application/json", {})
                for name, example in (media.get("examples") or {}).items():
                    if "value" in example:
                        yield method.upper(), template, status, name, example["value"]


def _params(two_xx: bool) -> list[Any]:
    params = []
    for method, template, status, name, value in _json_examples(two_xx):
        key = (method, template, status, name)
        marks = []
        if key in EXCLUDED_EXAMPLES:
            marks.append(pytest.mark.xfail(strict=True, reason=EXCLUDED_EXAMPLES[key], raises=AssertionError))
        params.append(pytest.param(method, template, int(status), value, id=" ".join(key), marks=marks))
    return params


def _example(method: str, template: str, status: str = "200") -> Any:
    media = sv.load_spec()["paths"][template][method.lower()]["responses"][status]["content"]
    return copy.deepcopy(next(iter(media["application/json"]["examples"].values()))["value"])


# ----------------------------------------------------------------------------------------------------
# Every example in the spec validates (after SCHEMA_OVERRIDES)
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "template", "status", "body"), _params(two_xx=True))
def test_2xx_example_validates(method: str, template: str, status: int, body: Any) -> None:
    sv.validate_response(method, template, status, body)


@pytest.mark.parametrize(("method", "template", "status", "body"), _params(two_xx=False))
def test_error_example_validates(method: str, template: str, status: int, body: Any) -> None:
    sv.validate_response(method, template, status, body)


def test_there_are_many_examples() -> None:
    assert len(list(_json_examples(two_xx=True))) > 100


def test_exclusions_exist_in_spec() -> None:
    keys = {(m, t, s, n) for m, t, s, n, _ in _json_examples(two_xx=True)}
    assert set(EXCLUDED_EXAMPLES) <= keys


def test_overrides_are_documented_and_unique() -> None:
    pointers = [o.pointer for o in sv.SCHEMA_OVERRIDES]
    assert len(pointers) == len(set(pointers))
    assert all(len(o.reason) > 20 for o in sv.SCHEMA_OVERRIDES)
    sv.patched_spec()  # every pointer resolves (raises otherwise)


@pytest.mark.parametrize(
    ("method", "template", "status", "mutate"),
    [
        ("GET", "/contacts/{contact_id}/companies", "200", lambda b: b.update(companies=b.pop("data"))),
        ("GET", "/ticket_types", "200", lambda b: b.update(type="ticket_type_attributes.list")),
        ("GET", "/companies/scroll", "200", lambda b: b.update(pages=7)),
    ],
    ids=["contact companies under `companies`", "ticket_types type", "scroll pages not object"],
)
def test_overridden_shapes_are_still_strict(method: str, template: str, status: str, mutate: Any) -> None:
    body = _example(method, template, status)
    mutate(body)
    with pytest.raises(AssertionError):
        sv.validate_response(method, template, int(status), body)


# ----------------------------------------------------------------------------------------------------
# Negative cases
# ----------------------------------------------------------------------------------------------------


def test_wrong_type_fails_with_json_path() -> None:
    body = _example("GET", "/contacts/{contact_id}")
    body["created_at"] = "2024-06-27T12:00:00Z"
    with pytest.raises(AssertionError) as exc:
        sv.validate_response("GET", "/contacts/667d60a98a68186f43bafdb9", 200, body)
    message = str(exc.value)
    assert "$.created_at" in message
    assert "is not of type 'integer'" in message
    assert "schema:" in message


def test_missing_required_field_fails() -> None:
    body = _example("GET", "/contacts/{contact_id}")
    del body["role"]
    with pytest.raises(AssertionError, match="'role' is a required property"):
        sv.validate_response("GET", "/contacts/abc", 200, body)


def test_nested_failure_reports_deep_path() -> None:
    body = _example("GET", "/contacts")
    body["data"] = [_example("GET", "/contacts/{contact_id}")]
    body["data"][0]["tags"]["has_more"] = "no"
    with pytest.raises(AssertionError, match=r"\$\.data\[0\]\.tags\.has_more"):
        sv.validate_response("GET", "/contacts?per_page=1", 200, body)


def test_enum_violation_fails() -> None:
    body = _example("GET", "/segments")
    body["segments"][0]["person_type"] = "robot"
    with pytest.raises(AssertionError, match="person_type"):
        sv.validate_response("GET", "/segments", 200, body)


def test_null_where_not_nullable_fails() -> None:
    body = _example("GET", "/contacts/{contact_id}")
    body["has_hard_bounced"] = None
    with pytest.raises(AssertionError, match="has_hard_bounced"):
        sv.validate_response("GET", "/contacts/x", 200, body)


def test_error_envelope_must_have_errors() -> None:
    with pytest.raises(AssertionError, match="'errors' is a required property"):
        sv.validate_response("GET", "/contacts/x", 404, {"type": "error.list"})


def test_undeclared_error_status_uses_error_envelope() -> None:
    errors = [{"code": "rate_limit_exceeded", "message": "Exceeded rate limit of 167 in 10_seconds"}]
    body = {"type": "error.list", "request_id": None, "errors": errors}
    sv.validate_response("GET", "/contacts", 429, body)
    with pytest.raises(AssertionError):
        sv.validate_response("GET", "/contacts", 429, {"message": "slow down"})


def test_undeclared_success_status_is_an_error() -> None:
    with pytest.raises(AssertionError, match="declares no response for status 201"):
        sv.validate_response("GET", "/contacts", 201, {})


def test_response_without_json_body_is_not_checked() -> None:
    sv.validate_response("GET", "/download/content/data/abc", 200, b"\x1f\x8b")


# ----------------------------------------------------------------------------------------------------
# Schema conversion
# ----------------------------------------------------------------------------------------------------


def test_nullable_on_plain_type() -> None:
    assert sv.to_json_schema({"type": "string", "nullable": True}) == {"type": ["string", "null"]}


def test_nullable_on_enum_adds_null() -> None:
    out = sv.to_json_schema({"type": "string", "enum": ["a", "b"], "nullable": True})
    assert out == {"type": ["string", "null"], "enum": ["a", "b", None]}


def test_nullable_on_ref_and_combinators_wraps() -> None:
    ref = sv.to_json_schema({"$ref": "#/components/schemas/tag", "nullable": True, "description": "x"})
    assert ref == {"anyOf": [{"type": "null"}, {"$ref": sv.SPEC_URI + "#/components/schemas/tag"}]}
    all_of = sv.to_json_schema({"allOf": [{"type": "object"}], "nullable": True})
    assert all_of["anyOf"][0] == {"type": "null"}


def test_annotations_and_formats_are_dropped_but_property_names_kept() -> None:
    out = sv.to_json_schema(
        {
            "type": "object",
            "description": "d",
            "example": {"a": 1},
            "x-tags": ["T"],
            "properties": {
                "description": {"type": "string", "example": "x"},
                "created_at": {"type": "integer", "format": "date-time"},
            },
        }
    )
    assert out == {
        "type": "object",
        "properties": {"description": {"type": "string"}, "created_at": {"type": "integer"}},
    }


def test_nullable_ref_accepts_null_in_real_schema() -> None:
    body = _example("GET", "/conversations/{conversation_id}")
    body["ai_agent"] = None  # {$ref: ai_agent, nullable: true}
    body["sla_applied"] = None
    sv.validate_response("GET", "/conversations/1", 200, body)


def test_company_custom_attributes_accept_typed_values() -> None:
    body = _example("GET", "/companies/{company_id}")
    body["custom_attributes"] = {
        "paid_subscriber": True,
        "monthly_spend": 155.5,
        "renewal date": 1_790_812_800,
    }
    sv.validate_response("GET", "/companies/1", 200, body)


def test_integer_date_time_accepted() -> None:
    body = _example("GET", "/contacts/{contact_id}")
    body["created_at"] = 1_790_812_800
    sv.validate_response("GET", "/contacts/1", 200, body)


# ----------------------------------------------------------------------------------------------------
# Operation lookup
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("GET", "/contacts/abc", "/contacts/{contact_id}"),
        ("POST", "/contacts/search", "/contacts/search"),
        ("GET", "/companies/scroll?scroll_param=x", "/companies/scroll"),
        ("GET", "/companies/5f", "/companies/{company_id}"),
        ("GET", "/admins/activity_logs", "/admins/activity_logs"),
        ("GET", "/admins/12", "/admins/{admin_id}"),
        ("get", "http://127.0.0.1:8000/contacts/abc/tags/", "/contacts/{contact_id}/tags"),
        ("GET", "/export/content/data/job1", "/export/content/data/{job_identifier}"),
    ],
)
def test_operation_for(method: str, path: str, template: str) -> None:
    op = sv.operation_for(method, path)
    assert op.template == template
    assert op.method == method.upper()


def test_operation_for_unknown_path() -> None:
    with pytest.raises(AssertionError, match="no operation for GET /nope"):
        sv.operation_for("GET", "/nope")
    with pytest.raises(AssertionError):
        sv.operation_for("PATCH", "/contacts/abc")


# ----------------------------------------------------------------------------------------------------
# Completeness (missing_properties)
# ----------------------------------------------------------------------------------------------------


def test_expected_properties_add_what_the_examples_show() -> None:
    conversation = sv.expected_properties("conversation")
    assert {"ticket", "topics", "conversation_parts", "statistics", "linked_objects"} <= conversation
    assert "customers" not in conversation  # only in the examples that are not of this schema
    assert {"ticket", "topics"} <= sv.expected_properties("conversation_list_item")
    assert {"applied_at", "applied_by"} <= sv.expected_properties("tag")
    assert sv.expected_properties("newsfeed_assignment") == {"newsfeed_id", "published_at"}
    assert "statistics" in sv.expected_properties("article")
    assert "statistics" not in sv.expected_properties("article_list_item")
    assert "conversations" in sv.expected_properties("article_statistics")  # the override's name


def test_complete_examples_miss_nothing() -> None:
    news = {"news_item", "newsfeed_assignment"}
    cases = [
        ("GET", "/conversations", "/conversations", {"conversation_list_item"}),
        ("GET", "/conversations/{conversation_id}", "/conversations/1", {"conversation"}),
        ("GET", "/contacts/{contact_id}/tags", "/contacts/x/tags", {"tag"}),
        ("GET", "/news/news_items/{news_item_id}", "/news/news_items/1", news),
        # (the article examples leave out default_locale and translated_content: SCHEMA_OVERRIDES)
        ("GET", "/articles/{article_id}", "/articles/1", {"article_statistics"}),
    ]
    for method, template, path, components in cases:
        body = _example(method, template)
        assert sv.missing_properties(method, path, 200, body, components) == [], template


def test_missing_properties_reports_json_paths() -> None:
    conversations = _example("GET", "/conversations")
    del conversations["conversations"][0]["ticket"]
    assert sv.missing_properties("GET", "/conversations", 200, conversations, {"conversation_list_item"}) == [
        "$.conversations[0].ticket"
    ]
    tags = _example("GET", "/contacts/{contact_id}/tags")
    del tags["data"][0]["applied_by"]
    assert sv.missing_properties("GET", "/contacts/x/tags", 200, tags, {"tag"}) == ["$.data[0].applied_by"]
    item = _example("GET", "/news/news_items/{news_item_id}")
    del item["newsfeed_assignments"][0]["published_at"]
    found = sv.missing_properties("GET", "/news/news_items/1", 200, item, {"newsfeed_assignment"})
    assert found == ["$.newsfeed_assignments[0].published_at"]
    article = _example("GET", "/articles/{article_id}")
    article["statistics"].pop("conversations")
    found = sv.missing_properties("GET", "/articles/1", 200, article, {"article_statistics"})
    assert found == ["$.statistics.conversations"]


def test_missing_properties_checks_only_the_given_components() -> None:
    conversations = _example("GET", "/conversations")
    del conversations["conversations"][0]["ticket"]
    assert sv.missing_properties("GET", "/conversations", 200, conversations, {"tag"}) == []
    null_ticket = _example("GET", "/conversations")
    assert null_ticket["conversations"][0]["ticket"] is None  # present as null: not missing
    assert sv.missing_properties("GET", "/conversations", 200, null_ticket, {"conversation_list_item"}) == []
