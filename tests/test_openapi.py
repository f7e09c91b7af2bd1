from pathlib import Path

import yaml

from app.openapi_doc import render_openapi

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.yaml"


def test_committed_contract_matches_the_app():
    # Regenerate with: .venv/bin/sen-api openapi
    assert COMMITTED.read_text() == render_openapi(), "openapi/openapi.yaml is stale"


def test_every_operation_is_named_summarised_and_declares_its_errors():
    document = yaml.safe_load(render_openapi())
    operation_ids = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            operation_ids.append(operation["operationId"])
            assert operation.get("summary"), f"{method} {path} has no summary"
            if path == "/v1/oauth/token":
                # The one exception (SPEC.md §4): RFC 6749 errors, and no bearer token.
                for status in ("400", "401"):
                    content = operation["responses"][status]["content"]["application/json"]
                    assert content["schema"] == {"$ref": "#/components/schemas/OAuthError"}
                assert {"bearerAuth": []} not in operation["security"]
                continue
            if path.startswith("/v1/"):
                codes = set(operation["responses"])
                assert {"401", "422", "503"} <= codes, f"{method} {path} lacks error responses"
                assert operation["security"] == [{"bearerAuth": []}]
                problem = operation["responses"]["401"]["content"]["application/problem+json"]
                assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert len(operation_ids) == len(set(operation_ids))
    assert "Problem" in document["components"]["schemas"]


async def test_served_document_is_openapi_3_1(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")
