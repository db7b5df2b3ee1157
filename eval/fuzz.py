"""Hypothesis strategies drawn from the service's own OpenAPI document, and the contract every answer keeps.

Used by ``tests/test_fuzz_api.py`` (in-process, a few examples a route) and ``python -m eval reliability``
(the real server, many examples). For each operation we generate bodies that follow the published
request schema, the same bodies with one field replaced by arbitrary JSON, and arbitrary JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema
from hypothesis import strategies as st

ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    body_schema: dict | None
    response_schemas: dict[int, dict]

    @property
    def name(self) -> str:
        return f"{self.method.upper()} {self.path}"


def resolve(schema: Any, components: dict[str, Any]) -> Any:
    """Inline every ``#/components/schemas/…`` reference (the API's models are not recursive)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return resolve(components[schema["$ref"].rsplit("/", 1)[-1]], components)
        return {key: resolve(value, components) for key, value in schema.items()}
    if isinstance(schema, list):
        return [resolve(item, components) for item in schema]
    return schema


def operations(document: dict) -> list[Operation]:
    """Every operation of an OpenAPI document with its JSON request and response schemas, refs inlined."""
    components = document.get("components", {}).get("schemas", {})
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            responses = {
                int(status): resolve(spec["content"]["application/json"]["schema"], components)
                for status, spec in operation["responses"].items()
                if status.isdigit() and "application/json" in spec.get("content", {})
            }
            found.append(Operation(method, path, resolve(body, components) if body else None, responses))
    return found


def from_schema(schema: dict) -> st.SearchStrategy[Any]:
    """Values valid under ``schema`` for the JSON Schema subset pydantic emits for this API.

    (hypothesis-jsonschema would do this, but it relies on Hypothesis internals that have since changed.)
    """
    if "anyOf" in schema:
        return st.one_of([from_schema(option) for option in schema["anyOf"]])
    if "enum" in schema or "const" in schema:
        return st.sampled_from(schema.get("enum", [schema.get("const")]))
    kind = schema.get("type")
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 100))
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        return st.integers(None if low is None else int(low), None if high is None else int(high))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = from_schema(schema.get("items", {}))
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 5), 5))
    if kind == "object":
        return _objects(schema)
    return ANY_JSON


def _objects(schema: dict) -> st.SearchStrategy[dict]:
    properties = {name: from_schema(sub) for name, sub in schema.get("properties", {}).items()}
    required = set(schema.get("required", []))
    fixed = st.fixed_dictionaries(
        {name: value for name, value in properties.items() if name in required},
        optional={name: value for name, value in properties.items() if name not in required},
    )
    extra = schema.get("additionalProperties", False)
    if properties or extra is False:
        valid = fixed
    else:
        names = st.text(max_size=schema.get("propertyNames", {}).get("maxLength", 20))
        values = ANY_JSON if extra is True else from_schema(extra)
        valid = st.dictionaries(names, values, max_size=min(schema.get("maxProperties", 5), 5))
    examples = schema.get("examples", [])
    return st.one_of(valid, st.sampled_from(examples)) if examples else valid


def _with_one_field_replaced(valid: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    @st.composite
    def replaced(draw: st.DrawFn) -> dict:
        body = dict(draw(valid))
        key = draw(st.sampled_from(sorted(body) or ["message"]))
        body[key] = draw(ANY_JSON)
        return body

    return replaced()


def bodies(operation: Operation) -> st.SearchStrategy[Any]:
    """Valid, nearly valid and arbitrary JSON bodies for ``operation``."""
    if operation.body_schema is None:
        return st.none() | ANY_JSON
    valid = from_schema(operation.body_schema)
    return st.one_of(valid, _with_one_field_replaced(valid), ANY_JSON)


def contract_violation(operation: Operation, status: int, payload: Any) -> str | None:
    """Why an answer breaks the API contract (a 5xx, an error without code and message, a bad body), or None."""
    if status >= 500:
        return f"{status} from {operation.name}"
    if status >= 400:
        error = payload.get("error") if isinstance(payload, dict) else None
        if not (isinstance(error, dict) and error.get("code") and error.get("message")):
            return f"{status} from {operation.name} without an error code and message: {payload!r}"
    schema = operation.response_schemas.get(status)
    if schema is not None:
        try:
            jsonschema.validate(payload, schema)
        except jsonschema.ValidationError as exc:
            return f"{status} from {operation.name} does not match its schema: {exc.message}"
    return None
