"""Every operation of the OpenAPI schema, called with generated requests (schemathesis,
a bounded run): none may answer 5xx, and every answer, errors included, must be what the
schema documents (status, content type, body). Requests the schema allows but the server
refuses with a reason (a language code that is no language) are not counted against it:
the schema's strings are looser than the checks behind them."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from service.api.app import create_app
from service.config import Settings

pytestmark = pytest.mark.slow  # schemathesis: 40 generated requests per operation

EXAMPLES = 40  # per operation: about a minute in all with the real model


@pytest.fixture(scope="module")
def schema(tmp_path_factory, models_dir):
    data_dir = tmp_path_factory.mktemp("schema") / "data"
    app = create_app(Settings(data_dir=data_dir, models_dir=models_dir))
    with TestClient(app) as client:  # starts the app's lifespan: its collection and jobs
        note = ("note.txt", "Кандас — этнический казах.".encode(), "text/plain")
        assert client.post("/documents", files={"file": note}).status_code == 201
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


def operations() -> list[str]:
    paths = create_app(Settings()).openapi()["paths"]
    return [f"{method.upper()} {path}" for path, methods in paths.items() for method in methods]


@pytest.mark.parametrize("operation", operations())
def test_no_generated_request_gets_a_server_error(schema, operation):
    method, path = operation.split(" ", 1)
    endpoint = schema[path][method]

    @given(case=endpoint.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def call(case):
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    call()
