"""Validate HTTP responses against Intercom's OpenAPI 3.0.1 description (REST API 2.11).

Usage::

    from tests.spec_validation import validate_response
    validate_response("GET", "/contacts/abc", 200, resp.json())   # AssertionError on mismatch

The spec (19k lines of YAML) is loaded once per process. OpenAPI 3.0 schemas are converted to JSON Schema
2020-12 and validated with ``jsonschema``; ``$ref`` s to ``#/components/schemas`` are resolved through a
``referencing.Registry`` (so recursive schemas work). Conversion rules:

* ``nullable: true`` allows ``null`` -- also on ``$ref``, ``enum`` and ``allOf/oneOf/anyOf`` schemas;
* ``$ref`` siblings are ignored (OpenAPI 3.0 semantics), except ``nullable``;
* annotations (``example``, ``description``, ``title``, ``default``, ``x-*`` ...) are dropped;
* ``format`` is dropped: the spec puts ``format: date-time`` on integer UNIX timestamps and ``format: uri`` on
  fields that are ``""`` until filled (``data_export.download_url``), so formats are annotations here.

Where the spec's own response examples contradict its schemas, the examples (i.e. the real API) win: see
``SCHEMA_OVERRIDES`` below. Each override says why.

Validation alone does not notice a field the simulator leaves out: most properties are optional in the
schemas. ``missing_properties`` lists, for chosen component schemas, the properties a response's objects lack
that the schema declares or the spec's examples of that component show (``ticket`` on a conversation is only
in the examples).

The spec is the copy vendored in the repository, ``vendor/intercom-openapi/api.intercom.io.2.11.yaml`` (its
licence and provenance beside it); ``INTERCOM_OPENAPI_SPEC`` points the tests at another copy.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

JSON = Any
Schema = dict[str, Any]

DEFAULT_SPEC_PATH = (
    Path(__file__).resolve().parents[1] / "vendor" / "intercom-openapi" / "api.intercom.io.2.11.yaml"
)
SPEC_URI = "urn:intercom:openapi:2.11"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

# Keywords of OpenAPI 3.0 Schema Objects that carry no validation meaning here (see module docstring for
# `format`). `nullable` is handled explicitly.
_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "example",
        "examples",
        "default",
        "format",
        "readOnly",
        "writeOnly",
        "deprecated",
        "externalDocs",
        "xml",
        "discriminator",
        "nullable",
    }
)
_SUBSCHEMA_LISTS = ("allOf", "oneOf", "anyOf")
_SUBSCHEMA_SINGLE = ("items", "additionalProperties", "not")


# ----------------------------------------------------------------------------------------------------
# Example-vs-schema overrides.
#
# Each entry patches the raw spec (a deep copy) before conversion: `pointer` is a JSON pointer into the
# spec, `patch` receives the node found there and returns its replacement. The spec's examples are recorded
# from real responses, so where the hand-written schema disagrees with them the examples win and the schema
# is patched here. The envelope cases are Intercom's list envelopes (each object family names its list
# differently); the rest were found by tests/test_spec_validation.py (every 2xx JSON example in the spec
# must validate).
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaOverride:
    pointer: str
    reason: str
    patch: Callable[[Any], Schema]
    creates: bool = False  # the pointer names a schema the spec lacks (dangling $ref)


def _drop_required(*names: str) -> Callable[[Schema], Schema]:
    """Fields the examples omit: keep them as optional properties."""

    def patch(schema: Schema) -> Schema:
        missing = set(names) - set(schema.get("required", []))
        if missing:
            raise KeyError(f"override expects required fields that are not required: {sorted(missing)}")
        schema["required"] = [name for name in schema["required"] if name not in names]
        return schema

    return patch


def _rename_property(old: str, new: str) -> Callable[[Schema], Schema]:
    """Move property `old` to `new` (also in `required`)."""

    def patch(schema: Schema) -> Schema:
        props = schema["properties"]
        props[new] = props.pop(old)
        schema["required"] = [new if name == old else name for name in schema.get("required", [])]
        return schema

    return patch


def _list_object_of(item_ref: str) -> Callable[[Schema], Schema]:
    """Replace a schema by the `{"type": "list", "data": [<item_ref>...]}` envelope the examples show."""

    def patch(_: Schema) -> Schema:
        return {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["list"]},
                "data": {"type": "array", "items": {"$ref": item_ref}},
            },
            "required": ["type", "data"],
        }

    return patch


def _make_nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


def _nullable_properties(*names: str) -> Callable[[Schema], Schema]:
    def patch(schema: Schema) -> Schema:
        for name in names:
            schema["properties"][name] = _make_nullable(schema["properties"][name])
        return schema

    return patch


# conversation / conversation_list_item properties that every example shows as `null` when not applicable
_CONVERSATION_NULLABLES = ("teammates", "conversation_rating", "first_contact_reply", "statistics")


def _free_form_object(_: Any) -> Schema:
    return {"type": "object"}


def _extend_enum(*values: str) -> Callable[[Schema], Schema]:
    def patch(schema: Schema) -> Schema:
        return {**schema, "enum": [*schema["enum"], *values]}

    return patch


_COMPONENTS = "/components/schemas"

SCHEMA_OVERRIDES: tuple[SchemaOverride, ...] = (
    # -- shapes that differ from the examples (envelopes: intercom-api-notes.md section 2) --
    SchemaOverride(
        f"{_COMPONENTS}/contact_attached_companies",
        "GET /contacts/{id}/companies: the schema names the array `companies`, the example uses `data`",
        _rename_property("companies", "data"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/ticket_type_list",
        "GET /ticket_types: the schema says {type: 'ticket_type_attributes.list', ticket_types: [...]}, "
        "the example is {type: 'list', data: [...]}",
        _list_object_of("#/components/schemas/ticket_type"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/ticket_type/properties/ticket_type_attributes",
        "ticket_type.ticket_type_attributes: the schema says ticket_type_attribute_list "
        "{type: 'ticket_type_attributes.list', ticket_type_attributes: [...]}, every example is "
        "{type: 'list', data: [...]}",
        _list_object_of("#/components/schemas/ticket_type_attribute"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/company_scroll/properties/pages",
        "GET /companies/scroll: the example has `pages: null` (cursor_pages is not nullable)",
        _make_nullable,
    ),
    SchemaOverride(
        f"{_COMPONENTS}/article_statistics",
        "article.statistics: the schema says `conversions`, every example says `conversations`",
        _rename_property("conversions", "conversations"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/ticket_type_attribute/properties/input_options",
        "ticket_type_attribute.input_options: examples have `input_options: null` (non-list attributes)",
        _make_nullable,
    ),
    SchemaOverride(
        f"{_COMPONENTS}/conversation",
        "conversation examples (GET, reply, parts, redact ...) have teammates / conversation_rating / "
        "first_contact_reply / statistics = null; the schema $refs are not nullable",
        _nullable_properties(*_CONVERSATION_NULLABLES),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/conversation_list_item",
        "same as `conversation`, in the GET /conversations and POST /conversations/search examples",
        _nullable_properties(*_CONVERSATION_NULLABLES),
    ),
    # -- contradictions inside the spec --
    SchemaOverride(
        f"{_COMPONENTS}/company/properties/custom_attributes",
        "declared as a map of strings, but its own example is {paid_subscriber: true, monthly_spend: 155.5, "
        "team_mates: 9} and data_attribute types company attributes as string|integer|float|boolean|date",
        _free_form_object,
    ),
    SchemaOverride(
        f"{_COMPONENTS}/data_attribute/properties/model",
        "enum is [contact, company], but GET /data_attributes declares model=conversation (enum contact, "
        "company, conversation), whose items then carry model `conversation`",
        _extend_enum("conversation"),
    ),
    # -- spec bugs --
    SchemaOverride(
        f"{_COMPONENTS}/custom_attributes",
        "`#/components/schemas/custom_attributes` is referenced (conversation, conversation_list_item, ...) "
        "but not defined in 2.11; later spec versions define it as a free-form object",
        _free_form_object,
        creates=True,
    ),
    # -- `required` lists stricter than the examples: the examples omit unset fields --
    SchemaOverride(
        f"{_COMPONENTS}/admin",
        "GET /admins and note.author examples omit job_title / has_inbox_seat / team_ids",
        _drop_required("job_title", "has_inbox_seat", "team_ids"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/admin_with_app",
        "GET /me example omits job_title, away_mode_enabled, away_mode_reassign, team_ids",
        _drop_required("job_title", "away_mode_enabled", "away_mode_reassign", "team_ids"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/company",
        "every company example omits last_request_at, size, website, industry when unset",
        _drop_required("last_request_at", "size", "website", "industry"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/company_attached_segments",
        "requires `total_count`, which is not even a declared property; the example omits it",
        _drop_required("total_count"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/article_list_item",
        "article examples (list, get, search) omit default_locale and translated_content; `statistics` is "
        "required but only declared on `article` and absent from list items",
        _drop_required("default_locale", "translated_content", "statistics"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/collection",
        "collection examples omit default_locale",
        _drop_required("default_locale"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/tag",
        "applied_at/applied_by are 'only present when the tag is returned as part of a tagging operation' "
        "(their own descriptions); GET /tags example omits them",
        _drop_required("applied_at", "applied_by"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/ticket_part",
        "ticket part examples omit `body` (state changes) and `ticket_state` (comments)",
        _drop_required("body", "ticket_state"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/ticket_type_attribute",
        "PUT /ticket_types/{id}/attributes/{id} example omits input_options",
        _drop_required("input_options"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/data_attribute",
        "POST /data_attributes example omits description",
        _drop_required("description"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/message",
        "POST /messages examples: in-app messages have no subject, admin messages no conversation_id",
        _drop_required("subject", "conversation_id"),
    ),
    SchemaOverride(
        f"{_COMPONENTS}/phone_switch",
        "POST /phone_call_redirects example answers {type, url}, without `phone`",
        _drop_required("phone"),
    ),
)


# ----------------------------------------------------------------------------------------------------
# Spec loading and operation lookup
# ----------------------------------------------------------------------------------------------------


def spec_path() -> Path:
    return Path(os.environ.get("INTERCOM_OPENAPI_SPEC", DEFAULT_SPEC_PATH))


@functools.cache
def load_spec() -> Mapping[str, Any]:
    """The raw spec as parsed from YAML (unpatched; treat as read-only)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with spec_path().open("rb") as fh:
        return yaml.load(fh, Loader=loader)  # noqa: S506 - a SafeLoader


@functools.cache
def patched_spec() -> Mapping[str, Any]:
    """The spec with `SCHEMA_OVERRIDES` applied."""
    spec = copy.deepcopy(load_spec())
    for override in SCHEMA_OVERRIDES:
        parent, key = _resolve_parent(spec, override.pointer)
        if (key in parent) == override.creates:
            state = "already exists" if override.creates else "is missing"
            raise KeyError(f"schema override target {override.pointer!r} {state} in the spec")
        parent[key] = override.patch(parent.get(key))
    return spec


def _resolve_parent(doc: Any, pointer: str) -> tuple[Any, str]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    node = doc
    for part in parts[:-1]:
        node = node[part]
    return node, parts[-1]


def resolve_ref(ref: str) -> Schema:
    """The raw (patched, OpenAPI 3.0) schema a local `$ref` such as `#/components/schemas/contact` names."""
    _absolute_ref(ref)  # rejects non-local refs
    parent, key = _resolve_parent(patched_spec(), ref[1:])
    schema: Schema = parent[key]
    return schema


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    spec: Mapping[str, Any]

    @property
    def responses(self) -> Mapping[str, Any]:
        return self.spec.get("responses", {})

    def __str__(self) -> str:
        return f"{self.method} {self.template} ({self.operation_id})"


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    specificity: tuple[int, ...]  # per segment: 0 literal, 1 template -> literal routes sort first
    operation: Operation


def _compile_template(template: str) -> tuple[re.Pattern[str], tuple[int, ...]]:
    segments = template.strip("/").split("/")
    regex_parts: list[str] = []
    specificity: list[int] = []
    for segment in segments:
        if re.fullmatch(r"\{[^}]+\}", segment):
            regex_parts.append("[^/]+")
            specificity.append(1)
        else:
            regex_parts.append(re.escape(segment))
            specificity.append(0)
    return re.compile("^/" + "/".join(regex_parts) + "$"), tuple(specificity)


@functools.cache
def _routes() -> dict[str, list[_Route]]:
    routes: dict[str, list[_Route]] = {}
    for template, item in patched_spec()["paths"].items():
        pattern, specificity = _compile_template(template)
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op_spec = item[method]
            operation = Operation(method.upper(), template, op_spec.get("operationId", ""), op_spec)
            routes.setdefault(method.upper(), []).append(_Route(pattern, specificity, operation))
    for candidates in routes.values():
        candidates.sort(key=lambda r: r.specificity)
    return routes


def _normalise_path(path: str) -> str:
    """Accept a path, a path with a query string or a full URL; return the bare path."""
    bare = urlsplit(path).path or "/"
    return bare if bare == "/" else bare.rstrip("/")


def operation_for(method: str, path: str) -> Operation:
    """The spec operation serving `method path` (a concrete path such as `/contacts/123?x=1`).

    Literal segments beat templates: `/companies/scroll` is `listAllCompanies`, not `/companies/{company_id}`.
    Raises AssertionError if the spec has no such operation.
    """
    bare = _normalise_path(path)
    for route in _routes().get(method.upper(), []):
        if route.pattern.match(bare):
            return route.operation
    raise AssertionError(f"the spec has no operation for {method.upper()} {bare}")


def iter_operations() -> Iterator[Operation]:
    for candidates in _routes().values():
        for route in candidates:
            yield route.operation


# ----------------------------------------------------------------------------------------------------
# OpenAPI 3.0 Schema Object -> JSON Schema 2020-12
# ----------------------------------------------------------------------------------------------------


def _absolute_ref(ref: str) -> str:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported, got {ref!r}")
    return SPEC_URI + ref


def _allow_null(schema: Schema) -> Schema:
    if any(key in schema for key in ("$ref", *_SUBSCHEMA_LISTS)):
        return {"anyOf": [{"type": "null"}, schema]}
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = [*types, "null"] if "null" not in types else types
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def to_json_schema(node: Any) -> Any:
    """Convert one OpenAPI 3.0 Schema Object (recursively); `$ref` s become absolute URIs into `SPEC_URI`."""
    if not isinstance(node, Mapping):
        return node
    if "$ref" in node:
        out: Schema = {"$ref": _absolute_ref(node["$ref"])}
    else:
        out = {}
        for key, value in node.items():
            if key in _ANNOTATIONS or key.startswith("x-"):
                continue
            if key == "properties":
                out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
            elif key in _SUBSCHEMA_LISTS:
                out[key] = [to_json_schema(sub) for sub in value]
            elif key in _SUBSCHEMA_SINGLE:
                out[key] = to_json_schema(value)
            else:
                out[key] = copy.deepcopy(value)
    if node.get("nullable") is True:
        out = _allow_null(out)
    return out


@functools.cache
def _registry() -> Registry:
    components = patched_spec().get("components", {}).get("schemas", {})
    converted = {name: to_json_schema(schema) for name, schema in components.items()}
    resource = DRAFT202012.create_resource({"components": {"schemas": converted}})
    return Registry().with_resource(SPEC_URI, resource)


# ----------------------------------------------------------------------------------------------------
# Response schemas and validation
# ----------------------------------------------------------------------------------------------------

# Intercom documents one error envelope for every error status (developers.intercom.com "HTTP responses" and
# "error codes": 400/401/403/404/405/406/408/409/422/429/5xx all answer `error.list`), but each 2.11 operation
# declares only some of them (none declares 429). Undeclared error statuses are checked against `error`.
UNDECLARED_ERROR_SCHEMA: Schema = {"$ref": "#/components/schemas/error"}


@dataclass(frozen=True)
class ResponseSchema:
    operation: Operation
    status_key: str  # "200", "4XX", "default" or "undeclared-error"
    schema: Schema | None  # raw OpenAPI schema; None when the response declares no JSON body

    @property
    def label(self) -> str:
        ref = (self.schema or {}).get("$ref", "")
        name = ref.rsplit("/", 1)[-1] if ref else "inline schema"
        return f"{self.operation} response {self.status_key} ({name})"


def _declared_response(operation: Operation, status: int) -> tuple[str, Mapping[str, Any]] | None:
    responses = operation.responses
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            return key, responses[key]
    return None


def response_schema(method: str, path: str, status: int) -> ResponseSchema:
    operation = operation_for(method, path)
    declared = _declared_response(operation, status)
    if declared is None:
        if status >= 400:
            return ResponseSchema(operation, "undeclared-error", UNDECLARED_ERROR_SCHEMA)
        raise AssertionError(
            f"{operation}: the spec declares no response for status {status} "
            f"(declared: {', '.join(operation.responses) or 'none'})"
        )
    key, response = declared
    content = response.get("content", {})
    media = content.get("application/json") or next(iter(content.values()), None)
    return ResponseSchema(operation, key, (media or {}).get("schema"))


@functools.cache
def _validator(method: str, template: str, status: int) -> tuple[ResponseSchema, Draft202012Validator | None]:
    rs = response_schema(method, template, status)
    if rs.schema is None:
        return rs, None
    return rs, Draft202012Validator(to_json_schema(rs.schema), registry=_registry())


def validate_response(method: str, path: str, status: int, body: JSON) -> None:
    """Assert that `body` (parsed JSON) is what the spec allows for `method path` answering `status`.

    Responses whose spec entry declares no JSON body (e.g. the octet-stream download) are not checked.
    """
    operation = operation_for(method, path)
    rs, validator = _validator(operation.method, operation.template, status)
    if validator is None:
        return
    errors = list(validator.iter_errors(body))
    if errors:
        raise AssertionError(_describe(rs, status, errors))


def _json_path(error: ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _excerpt(value: Any, limit: int = 400) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(rs: ResponseSchema, status: int, errors: list[ValidationError]) -> str:
    best = best_match(errors)
    lines = [
        f"response {status} does not match {rs.label}",
        f"  at {_json_path(best)}: {best.message[:300]}",
        f"  schema: {_excerpt(best.schema)}",
        f"  value: {_excerpt(best.instance, 200)}",
    ]
    others = sorted({_json_path(e) + ": " + e.message[:120] for e in errors if e is not best}, key=str)
    if others:
        lines.append(f"  {len(others)} more error(s):")
        lines.extend(f"    {line}" for line in others[:8])
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------
# Completeness: the properties a response's objects should carry
# ----------------------------------------------------------------------------------------------------

# 2xx examples that document another response than their operation's schema, so that they describe nothing
# about that schema's objects (tests/test_spec_validation.py keeps them failing validation: strict xfail).
EXAMPLES_NOT_OF_THEIR_SCHEMA: dict[tuple[str, str, str, str], str] = {
    ("POST", "/conversations/{conversation_id}/customers", "200", "Attach a contact to a conversation"): (
        "write-only endpoint; the example answers {customers: [...]}, the schema a full conversation; "
        "not an endpoint the connector or simulator serves"
    ),
    (
        "DELETE",
        "/conversations/{conversation_id}/customers/{contact_id}",
        "200",
        "Detach a contact from a group conversation",
    ): "same as the attach example: {customers: [...]} instead of a conversation",
}


def component_name(node: Schema) -> str | None:
    """`contact` for `{"$ref": "#/components/schemas/contact"}`; None for an inline schema."""
    ref = node.get("$ref")
    return str(ref).rsplit("/", 1)[-1] if ref else None


def resolved(node: Schema) -> Schema:
    """`node` (patched spec) with its `$ref`s followed and its `allOf` parts merged into one object schema."""
    while "$ref" in node:
        node = resolve_ref(node["$ref"])
    if "allOf" not in node:
        return node
    parts = [*(resolved(part) for part in node["allOf"]), node]
    return {"type": "object", "properties": {k: v for p in parts for k, v in p.get("properties", {}).items()}}


@functools.cache
def examples_by_component() -> Mapping[str, list[dict[str, Any]]]:
    """Every object in the spec's 2xx response examples, by the component schema describing it (examples in
    `EXAMPLES_NOT_OF_THEIR_SCHEMA` left out)."""
    found: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for operation in iter_operations():
        for status, response in operation.responses.items():
            if not status.startswith("2"):
                continue
            for media in (response.get("content") or {}).values():
                for name, example in (media.get("examples") or {}).items():
                    key = (operation.method, operation.template, status, name)
                    if key not in EXAMPLES_NOT_OF_THEIR_SCHEMA:
                        _collect(example.get("value"), media.get("schema") or {}, found)
    return found


def _collect(value: Any, node: Schema, found: defaultdict[str, list[dict[str, Any]]]) -> None:
    name = component_name(node)
    if name and isinstance(value, dict):
        found[name].append(value)
    schema = resolved(node)
    if isinstance(value, dict):
        for key, child in (schema.get("properties") or {}).items():
            if key in value:
                _collect(value[key], child, found)
    elif isinstance(value, list) and "items" in schema:
        for item in value:
            _collect(item, schema["items"], found)


@functools.cache
def expected_properties(component: str) -> frozenset[str]:
    """The properties an object of `component` carries: those its (patched) schema declares, and those the
    spec's examples of it show although the schema does not declare them."""
    declared = set(resolved({"$ref": f"#/components/schemas/{component}"}).get("properties") or {})
    shown = {key for example in examples_by_component().get(component, []) for key in example}
    return frozenset(declared | shown)


def missing_properties(
    method: str, path: str, status: int, body: JSON, components: Collection[str]
) -> list[str]:
    """JSON paths (`$.data[3].ticket`) of the properties that `body`'s objects of the given component schemas
    lack (`expected_properties`), wherever the response's schema puts such objects. A property that is
    present with a null value is not missing."""
    schema = response_schema(method, path, status).schema
    missing: list[str] = []
    if schema is not None:
        _walk_missing(body, schema, "$", frozenset(components), missing)
    return missing


def _walk_missing(value: Any, node: Schema, path: str, components: frozenset[str], out: list[str]) -> None:
    schema = resolved(node)
    for combinator in _SUBSCHEMA_LISTS[1:]:  # oneOf / anyOf: the branch that declares most of its keys
        if combinator in schema and isinstance(value, dict):
            branches = schema[combinator]
            best = max(branches, key=lambda b: len(set(resolved(b).get("properties") or {}) & set(value)))
            _walk_missing(value, best, path, components, out)
            return
    if isinstance(value, dict):
        name = component_name(node)
        if name in components:
            out.extend(f"{path}.{key}" for key in sorted(expected_properties(name) - set(value)))
        for key, child in (schema.get("properties") or {}).items():
            if value.get(key) is not None:
                _walk_missing(value[key], child, f"{path}.{key}", components, out)
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _walk_missing(item, schema["items"], f"{path}[{index}]", components, out)


__all__ = [
    "EXAMPLES_NOT_OF_THEIR_SCHEMA",
    "SCHEMA_OVERRIDES",
    "Operation",
    "ResponseSchema",
    "SchemaOverride",
    "component_name",
    "examples_by_component",
    "expected_properties",
    "iter_operations",
    "load_spec",
    "missing_properties",
    "operation_for",
    "patched_spec",
    "resolve_ref",
    "resolved",
    "response_schema",
    "to_json_schema",
    "validate_response",
]
