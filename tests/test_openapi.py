"""The OpenAPI document covers the whole wire contract, and the server answers without a token."""

from __future__ import annotations

import httpx

from conftest import Server
from helpers import one_backend

pytestmark = one_backend

CONTRACT = {
    ("post", "/v1/auth/login"),
    ("post", "/v1/auth/logout"),
    ("get", "/v1/project"),
    ("post", "/v1/sync/push"),
    ("get", "/v1/sync/pull"),
    ("post", "/v1/sync/conflicts"),
    ("get", "/v1/entities/{entity}/records"),
    ("post", "/v1/entities/{entity}/records"),
    ("get", "/v1/entities/{entity}/records/{record_id}"),
    ("patch", "/v1/entities/{entity}/records/{record_id}"),
    ("delete", "/v1/entities/{entity}/records/{record_id}"),
    ("post", "/v1/entities/{entity}/records/{record_id}/assign"),
    ("get", "/v1/admin/entities/{name}"),
    ("put", "/v1/admin/entities/{name}"),
    ("get", "/v1/admin/users"),
    ("post", "/v1/admin/users"),
    ("get", "/v1/admin/devices"),
    ("delete", "/v1/admin/devices/{device_id}"),
    ("get", "/v1/admin/conflicts"),
    ("get", "/v1/admin/conflicts/{entry_id}"),
    ("post", "/v1/admin/conflicts/{entry_id}/resolve"),
    ("post", "/v1/admin/journal/{entry_id}/restore"),
    ("get", "/health"),
}


def test_openapi_lists_every_endpoint_of_the_contract(server: Server) -> None:
    document = httpx.get(f"{server.url}/openapi.json").json()
    served = {(method, path) for path, item in document["paths"].items() for method in item}
    assert served == CONTRACT
    push = document["paths"]["/v1/sync/push"]["post"]
    assert push["security"] == [{"HTTPBearer": []}]


def test_openapi_documents_the_dry_run_and_confirmation_of_entity_changes(
    server: Server,
) -> None:
    document = httpx.get(f"{server.url}/openapi.json").json()
    put = document["paths"]["/v1/admin/entities/{name}"]["put"]
    params = {p["name"]: p["schema"]["type"] for p in put["parameters"] if p["in"] == "query"}
    assert params == {"dry_run": "boolean", "confirm": "boolean"}
    refused = put["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    assert refused.endswith("/DestructiveOut")
    report = document["components"]["schemas"]["CustomizationReport"]["properties"]
    assert {"destructive", "breakages", "devices", "pending_edits"} <= set(report)


def test_health_needs_no_token(server: Server) -> None:
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}


def test_unknown_paths_answer_with_the_error_body(server: Server) -> None:
    response = httpx.get(f"{server.url}/v1/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_logout_revokes_the_token(server: Server) -> None:
    client = server.client("alice")
    with client:
        assert client.get("/v1/project").status_code == 200
        assert client.post("/v1/auth/logout").status_code == 204
        refused = client.get("/v1/project")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "bad_token"
