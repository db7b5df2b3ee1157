"""Property-based fuzzing of every route in the service's own OpenAPI document (strategies: eval/fuzz.py).

Whatever arrives, the service answers below 500; an error is the JSON envelope with a code and a
message, and a success matches the published response schema. ``python -m eval reliability`` runs
the same fuzzing against a real server with many more examples.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from eval.fuzz import Operation, bodies, contract_violation, operations

EXAMPLES_PER_ROUTE = 25
OPERATIONS = operations(create_app().openapi())


@pytest.fixture(scope="module")
def client(base_settings, built_index, tmp_path_factory, encoder) -> Iterator[TestClient]:
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    with TestClient(create_app(base_settings.model_copy(update={"data_dir": data_dir}), encoder)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def issued_request_ids(client: TestClient) -> list[str]:
    """Real request ids, so fuzzed feedback sometimes reaches the store instead of a 404."""
    return [client.post("/v1/suggest", json={"message": m}).json()["request_id"] for m in ("发票", "退货", "快递")]


def test_every_documented_route_is_fuzzed():
    assert {op.name for op in OPERATIONS} >= {
        "POST /v1/suggest",
        "POST /v1/classify",
        "POST /v1/feedback",
        "POST /v1/corrections",
        "POST /v1/admin/reload",
        "GET /healthz",
        "GET /readyz",
    }


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.name for op in OPERATIONS])
def test_no_5xx_and_every_answer_follows_the_contract(client, issued_request_ids, operation: Operation):
    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(body=bodies(operation), known_id=st.sampled_from(issued_request_ids), use_known=st.booleans())
    def check(body: Any, known_id: str, use_known: bool) -> None:
        if use_known and isinstance(body, dict) and "request_id" in body:
            body = {**body, "request_id": known_id}
        response = client.request(operation.method.upper(), operation.path, json=body)
        assert contract_violation(operation, response.status_code, response.json()) is None, body

    check()
