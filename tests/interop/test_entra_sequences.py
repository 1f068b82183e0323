"""Replays of what Microsoft Entra ID sends, over real HTTP against the real app and directory.

Request bodies are Microsoft's published examples, verbatim, or payloads other SCIM servers observed
(each constant names its source); the sequences follow Entra's provisioning cycle (Test Connection,
match-or-create, update, disable, delete) and every PATCH form P1–P13. After each write the test
GETs the user and checks that it shows exactly what Entra sent, and that the legacy ``employees``
row the Vizmo portal reads holds the mapped values.

The labels in the comments name the sources:

- §3.1 (S1): the examples of Microsoft Learn's "Tutorial: Develop and plan provisioning for a SCIM
  endpoint in Microsoft Entra ID", sections "SCIM protocol requests and responses" and "Handling
  provisioning and deprovisioning of users" (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups);
- §3.2 (S2): "Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra
  user provisioning service", without and with the ``aadOptscim062020`` flag
  (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility);
- §3.3 (S5): "Customize user provisioning attribute-mappings" (roles and custom extension
  attributes, https://learn.microsoft.com/en-us/entra/identity/app-provisioning/customize-application-attributes);
- §3.4: payloads observed by other SCIM servers, each comment naming the issue;
- §1: what real Entra traffic carries: ``Content-Type: application/scim+json; charset=utf-8``,
  filters form-encoded (``filter=userName+eq+%22...%22``, the request reported in
  AzureAD/SCIMReferenceCode issue 63), no ``User-Agent`` on Test Connection; §1.1 the
  ``aadOptscim062020`` flag, which an admin appends to the Tenant URL (S2);
- §2: the provisioning cycle as S1 and "How Application Provisioning works in Microsoft Entra ID"
  (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/how-provisioning-works) describe it: 2.1 Test
  Connection (a user and a group looked up), 2.2 match or create, 2.4 disable, restore and delete,
  2.5 groups, 2.6 matching on ``emails[type eq "work"].value`` and values kept as sent;
- §4, P1–P13: the PATCH and filter forms Entra sends (§3 holds the verbatim bodies): P1 ``op``
  in any case, P2 ``"True"``/``"False"`` for booleans, P3 value paths (``emails[type eq
  "work"].value``), P4 path-less values with dotted and URN keys, P5 extension URN paths, P6 the
  manager's shapes, P7 ``add`` to an attribute that has a value, P8 ``remove`` with a list of
  values, P9 unknown attributes, P10 ``null`` values in a POST, P11 ``eq``/``and`` filters, P12
  ``excludedAttributes`` and unknown query parameters, P13 ``schemas`` taken leniently (the
  enterprise URN listed without its block, client-sent ``meta``, the ``...:enterprise:2.0User``
  typo);
- §6 #8/#9: the 409 loop: a user the matching filter does not find (a ``userName`` compared
  case-sensitively, a disabled user hidden) is POSTed again and again.
"""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.support import PUBLIC_BASE_URL, GatewayEnv, Reply, Scim

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

#: The Content-Type seen in real Entra traffic (§1 "Request Content-Type").
ENTRA_HEADERS = {"Content-Type": "application/scim+json; charset=utf-8"}
#: The GUID of §1 "Query encoding" (Entra's Test Connection looks up a random GUID).
PROBE_GUID = "cf4d78e8-cc4f-4d5d-b8b9-183561c0104a"

# --- §3.1 "SCIM protocol requests and responses" (S1), verbatim request bodies ------------------

# §3.1 Create User — POST /Users
S31_CREATE_USER: dict[str, Any] = {
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "active": True,
    "emails": [{
        "primary": True,
        "type": "work",
        "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
    }],
    "meta": {
        "resourceType": "User"
    },
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName"
    },
    "roles": []
}
USER_NAME = S31_CREATE_USER["userName"]
WORK_EMAIL = S31_CREATE_USER["emails"][0]["value"]

# §3.1 Update User [multi-valued properties]
S31_UPDATE_MULTI: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {
            "op": "Replace",
            "path": "emails[type eq \"work\"].value",
            "value": "updatedEmail@microsoft.com"
        },
        {
            "op": "Replace",
            "path": "name.familyName",
            "value": "updatedFamilyName"
        }
    ]
}

# §3.1 Update User [single-valued properties]
S31_UPDATE_SINGLE: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Replace",
        "path": "userName",
        "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    }]
}

# §3.1 Disable User
S31_DISABLE: dict[str, Any] = {
    "Operations": [
        {
            "op": "Replace",
            "path": "active",
            "value": False
        }
    ],
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ]
}

# §3.1 Create Group — POST /Groups (sent while the admin has not yet disabled group provisioning)
S31_CREATE_GROUP: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "displayName",
    "meta": {
        "resourceType": "Group"
    }
}

# §3.1 "Handling provisioning and deprovisioning of users", Example 2 (nulls and the
# "…enterprise:2.0User" typo URN, both as published)
S31_EXAMPLE2_CREATE: dict[str, Any] = {
    "schemas":
    [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
    "externalId": "jyoung",
    "userName": "jyoung@testuser.com",
    "active": True,
    "addresses": None,
    "displayName": "Joy Young",
    "emails": [
        {
            "type": "work",
            "value": "jyoung@Contoso.com",
            "primary": True}],
    "meta": {
        "resourceType": "User"},
    "name": {
        "familyName": "Young",
        "givenName": "Joy"},
    "phoneNumbers": None,
    "preferredLanguage": None,
    "title": None,
    "department": None,
    "manager": None}

# §3.1 Example 5 — update manager (value as an array of {$ref, value})
S31_EXAMPLE5_MANAGER: dict[str, Any] = {
    "schemas":
    [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations":
    [
        {
            "op": "Add",
            "path": "manager",
            "value":
            [
                {
                    "$ref": "http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                    "value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}]}]}

# --- §3.2 without vs. with aadOptscim062020 (S2), verbatim ---------------------------------------

# §3.2 Disable user — without flag
S32_DISABLE_WITHOUT_FLAG: dict[str, Any] = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "Replace",
            "path": "active",
            "value": "False"
        }
    ]
}

# §3.2 Disable user — with flag
S32_DISABLE_WITH_FLAG: dict[str, Any] = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "replace",
            "path": "active",
            "value": False
        }
    ]
}

# §3.2 Add a single-value string attribute — without flag
S32_ADD_NICKNAME_WITHOUT_FLAG: dict[str, Any] = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "Add",
            "path": "nickName",
            "value": "Babs"
        }
    ]
}

# §3.2 Add a single-value string attribute — with flag
S32_ADD_NICKNAME_WITH_FLAG: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {
            "op": "add",
            "path": "nickName",
            "value": "Babs"
        }
    ]
}

# §3.2 Replace multiple attributes — without flag
S32_REPLACE_MULTIPLE_WITHOUT_FLAG: dict[str, Any] = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "Replace",
            "path": "displayName",
            "value": "Pvlo"
        },
        {
            "op": "Replace",
            "path": "emails[type eq \"work\"].value",
            "value": "TestBcwqnm@test.microsoft.com"
        },
        {
            "op": "Replace",
            "path": "name.givenName",
            "value": "Gtfd"
        },
        {
            "op": "Replace",
            "path": "name.familyName",
            "value": "Pkqf"
        },
        {
            "op": "Replace",
            "path": "externalId",
            "value": "Eqpj"
        },
        {
            "op": "Replace",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "value": "Eqpj"
        }
    ]
}

# §3.2 Replace multiple attributes — with flag (path-less op, dotted and URN keys)
S32_REPLACE_MULTIPLE_WITH_FLAG: dict[str, Any] = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "replace",
            "path": "emails[type eq \"work\"].value",
            "value": "TestMhvaes@test.microsoft.com"
        },
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
            }
        }
    ]
}

# --- §3.3 (S5) roles PATCH: a JSON string inside "value" (kept as the plain role it names) ---------
S33_ROLES_ADD: dict[str, Any] = {
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "Add",
            "path": "roles",
            "value": [
                {
                    "value": "{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"25\",\"displayName\":\"Role1234\"}"
                }
            ]
        }
    ]
}

# --- §3.4 observed real payloads, verbatim -----------------------------------------------------------

# §3.4 Manager as a bare string in PATCH — SCIM-SDK#541
S34_MANAGER_BARE_STRING: dict[str, Any] = {
    "Operations": [
        {
            "op": "Add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "value": "271"
        }
    ],
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ]
}

# §3.4 Several adds on sub-attributes of one typed entry — SCIM-SDK#680 (the trailing comma after
# the third operation, as posted, removed so that it is JSON)
S34_ADDRESS_THREE_OPS: dict[str, Any] = {
    "Operations": [
        {
            "op": "add",
            "path": "addresses[type eq \"work\"].formatted",
            "value": "USZLTUSJXBYV"
        },
        {
            "op": "add",
            "path": "addresses[type eq \"work\"].locality",
            "value": "OSGODHEVDCVD"
        },
        {
            "op": "add",
            "path": "addresses[type eq \"work\"].region",
            "value": "YMVMOEMXAYGD"
        }
    ],
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]
}

# §3.4 Path-less add with dotted keys — pond/scimitar#123 (its JSON equivalent, as given)
S34_SCIMITAR_PATHLESS_ADD: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "add", "value": {"displayName": "Foo Bar", "title": "Bar Foo", "name.givenName": "Foo",
                                          "name.familyName": "Bar", "name.formatted": "Foo Bar"}}]}

# §3.3 (S5) the custom extension block as Entra sends it (its URN not listed in "schemas")
S33_CUSTOM_EXTENSION: dict[str, Any] = {"CustomAttribute": "701984"}


# --- helpers ----------------------------------------------------------------------------------------


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp body (for the §4 forms that have no verbatim body in §3)."""
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def entra_query(**params: str) -> str:
    """A query string encoded the way Entra encodes it: ``filter=userName+eq+%22...%22`` (§1)."""
    return "?" + urlencode(params)


def eq_filter(attr: str, value: str) -> str:
    return entra_query(filter=f'{attr} eq "{value}"')


def employee(env: GatewayEnv, employee_id: int) -> sqlite3.Row:
    rows = env.sql("SELECT * FROM employees WHERE id = ?", (employee_id,))
    assert len(rows) == 1
    return rows[0]


def employee_id_of(env: GatewayEnv, email: str) -> int:
    rows = env.sql("SELECT id FROM employees WHERE location_id = 1 AND email = ?", (email,))
    assert len(rows) == 1, email
    return int(rows[0]["id"])


def insert_portal_employee(env: GatewayEnv, email: str, first: str, last: str, status: str = "active") -> int:
    """An employee created by hand in the Vizmo portal: plain SQL, no ``scim_`` row."""
    env.sql("INSERT INTO employees (location_id, email, first_name, last_name, status, created_at, updated_at) "
            "VALUES (1, ?, ?, ?, ?, '2024-03-01T09:00:00Z', '2024-03-01T09:00:00Z')", (email, first, last, status))
    return employee_id_of(env, email)


def without_meta(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k not in ("meta", "schemas")}


def assert_schemas_consistent(resource: dict[str, Any]) -> None:
    """``schemas`` names the core schema and exactly the extension blocks present (RFC 7643 §3)."""
    assert resource["schemas"][0] == CORE
    assert set(resource["schemas"]) == {CORE} | {k for k in resource if k.startswith("urn:")}


async def create(scim: Scim, body: dict[str, Any] | None = None) -> dict[str, Any]:
    reply = await scim("POST", "/Users", copy.deepcopy(body or S31_CREATE_USER), headers=ENTRA_HEADERS)
    assert reply.status == 201, reply.body
    return dict(reply.body)


async def patch(scim: Scim, user_id: str, body: dict[str, Any]) -> Reply:
    return await scim("PATCH", f"/Users/{user_id}", copy.deepcopy(body), headers=ENTRA_HEADERS)


async def get_user(scim: Scim, user_id: str) -> dict[str, Any]:
    reply = await scim("GET", f"/Users/{user_id}")
    assert reply.status == 200, reply.body
    assert reply.headers["ETag"] == reply.body["meta"]["version"]
    return dict(reply.body)


async def find(scim: Scim, query: str) -> dict[str, Any]:
    reply = await scim("GET", "/Users" + query)
    assert reply.status == 200, reply.body
    assert reply.body["schemas"] == [LIST_RESPONSE]
    return dict(reply.body)


async def raw_http(base_url: str, method: str, target: str, headers: dict[str, str],
                   body: bytes = b"") -> tuple[int, dict[str, str], Any]:
    """One HTTP/1.1 exchange over a plain socket, sending exactly ``headers`` (Tornado's client
    would add a User-Agent; Entra's Test Connection sends none, §1 "User-Agent")."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, payload = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    received = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        received[name.strip().lower()] = value.strip()
    if received.get("transfer-encoding", "").lower() == "chunked":
        payload = _unchunk(payload)
    return int(status_line.split()[1]), received, json.loads(payload) if payload else None


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2:]
    return out


# --- §2.1 Test Connection ------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_test_connection_user_probe_gets_an_empty_list_response(scim: Scim) -> None:
    # §1 "Query encoding": exactly the observed request line
    reply = await scim("GET", f"/Users?filter=userName+eq+%22{PROBE_GUID}%22")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/scim+json"
    assert reply.body["schemas"] == [LIST_RESPONSE]
    assert reply.body["totalResults"] == 0 and reply.body["Resources"] == []
    assert reply.body["startIndex"] == 1


@pytest.mark.gen_test
async def test_test_connection_group_probe_gets_an_empty_list_response(scim: Scim) -> None:
    # §2.1 "Group probe" (inferred form) — 404/501 here fails Test Connection
    reply = await scim("GET", f"/Groups?excludedAttributes=members&filter=displayName+eq+%22{PROBE_GUID}%22")
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"] == "application/scim+json"
    assert reply.body["schemas"] == [LIST_RESPONSE]
    assert reply.body["totalResults"] == 0 and reply.body["Resources"] == []


@pytest.mark.gen_test
async def test_probes_with_the_feature_flag_and_without_a_user_agent(gateway_env: GatewayEnv, base_url: str,
                                                                      http_server: Any) -> None:
    # §1 "User-Agent": Test Connection had no User-Agent header; §1.1 the flag may ride along.
    prefix = "/scim/v2/locations/1"
    auth = {"Authorization": f"Bearer {gateway_env.tokens[1]}", "Accept": "application/scim+json"}
    for target in (f"{prefix}/Users?filter=userName+eq+%22{PROBE_GUID}%22",
                   f"{prefix}/Users?aadOptscim062020&filter=userName+eq+%22{PROBE_GUID}%22",
                   f"{prefix}/Groups?excludedAttributes=members&filter=displayName+eq+%22{PROBE_GUID}%22"):
        status, headers, body = await raw_http(base_url, "GET", target, auth)
        assert status == 200, (target, body)
        assert headers["content-type"] == "application/scim+json"
        assert body["totalResults"] == 0 and body["Resources"] == []


@pytest.mark.gen_test
async def test_group_writes_tell_the_admin_to_disable_group_provisioning(scim: Scim) -> None:
    # §2.5: group provisioning left on → Entra POSTs §3.1 "Create Group"
    reply = await scim("POST", "/Groups", S31_CREATE_GROUP, headers=ENTRA_HEADERS)
    assert reply.status == 501
    assert reply.body["schemas"] == [ERROR] and reply.body["status"] == "501"
    assert "Provision Microsoft Entra ID Groups" in reply.body["detail"]


@pytest.mark.gen_test
async def test_a_group_search_is_a_read_answered_like_get_groups(scim: Scim) -> None:
    """RFC 7644 §3.4.3: ``POST /Groups/.search`` is a query (it was taken for a write: 501)."""
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
              "filter": 'displayName eq "Sales"', "startIndex": 1, "count": 10}
    reply = await scim("POST", "/Groups/.search", search, headers=ENTRA_HEADERS)
    assert reply.status == 200 and reply.body["schemas"] == [LIST_RESPONSE], reply.body
    assert reply.body["totalResults"] == 0 and reply.body["Resources"] == []
    bad = await scim("POST", "/Groups/.search", {**search, "count": "ten"}, headers=ENTRA_HEADERS)
    assert bad.status == 400 and bad.body["scimType"] == "invalidSyntax", bad.body


# --- §2.2 create -------------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_create_user_echoes_what_entra_sent(scim: Scim, gateway_env: GatewayEnv, base_url: str) -> None:
    assert (await find(scim, eq_filter("userName", USER_NAME)))["totalResults"] == 0
    created = await create(scim)
    assert isinstance(created["id"], str) and created["id"]
    for key in ("userName", "externalId", "name", "emails", "active"):
        assert created[key] == S31_CREATE_USER[key], key
    assert "roles" not in created  # "roles": [] is unassigned (RFC 7643 §2.5)
    assert created["meta"]["resourceType"] == "User"
    assert created["meta"]["location"] == f"{PUBLIC_BASE_URL}/scim/v2/locations/1/Users/{created['id']}"
    assert_schemas_consistent(created)
    assert await get_user(scim, created["id"]) == created
    row = employee(gateway_env, employee_id_of(gateway_env, USER_NAME))
    assert (row["email"], row["first_name"], row["last_name"], row["status"]) == \
        (USER_NAME, "givenName", "familyName", "active")
    found = await find(scim, eq_filter("userName", USER_NAME.upper()))
    assert found["totalResults"] == 1 and found["Resources"][0] == created


@pytest.mark.gen_test
async def test_create_without_user_agent_and_with_charset(gateway_env: GatewayEnv, base_url: str,
                                                          http_server: Any) -> None:
    # §1: "Content-Type: application/scim+json; charset=utf-8" and no User-Agent
    body = json.dumps(S31_CREATE_USER).encode()
    headers = {"Authorization": f"Bearer {gateway_env.tokens[1]}", **ENTRA_HEADERS}
    status, received, created = await raw_http(base_url, "POST", "/scim/v2/locations/1/Users", headers, body)
    assert status == 201, created
    assert received["content-type"] == "application/scim+json"
    assert created["userName"] == USER_NAME and created["id"]
    assert received["location"] == created["meta"]["location"]


@pytest.mark.gen_test
async def test_example2_post_with_nulls_and_a_typo_urn(scim: Scim, gateway_env: GatewayEnv) -> None:
    # §3.1 Example 2; P10 (nulls ignored), P13 (typo URN not rejected)
    created = await create(scim, S31_EXAMPLE2_CREATE)
    for key in ("externalId", "userName", "active", "displayName", "emails", "name"):
        assert created[key] == S31_EXAMPLE2_CREATE[key], key
    for key in ("addresses", "phoneNumbers", "preferredLanguage", "title", "department", "manager"):
        assert key not in created, key
    assert ENTERPRISE not in created
    assert "urn:ietf:params:scim:schemas:extension:enterprise:2.0User" not in created["schemas"]
    assert_schemas_consistent(created)
    assert await get_user(scim, created["id"]) == created
    row = employee(gateway_env, employee_id_of(gateway_env, "jyoung@testuser.com"))
    assert (row["first_name"], row["last_name"], row["display_name"], row["designation"], row["department"],
            row["phone"], row["mobile"], row["status"]) == ("Joy", "Young", "Joy Young", None, None, None, None,
                                                             "active")
    # §3.1 Example 1 as Entra sends it today, quoted (the old docs' unquoted form is refused: an
    # unquoted word is not an RFC 7644 §3.4.2.2 compValue)
    found = await find(scim, "?" + urlencode({"filter": 'externalId eq "jyoung"'}))
    assert [r["id"] for r in found["Resources"]] == [created["id"]]
    refused = await scim("GET", "/Users?" + urlencode({"filter": "externalId eq jyoung"}))
    assert refused.status == 400 and refused.body["scimType"] == "invalidFilter"


@pytest.mark.gen_test
async def test_attributes_the_directory_cannot_store_round_trip(scim: Scim) -> None:
    # §2.6 "Values sent should be stored in the same format they were sent"; §3.3 custom extension
    body = copy.deepcopy(S31_CREATE_USER)
    body["preferredLanguage"] = "en-US"
    body["addresses"] = [{"type": "work", "streetAddress": "1 Main St", "postalCode": "110001", "primary": True}]
    body[CUSTOM] = copy.deepcopy(S33_CUSTOM_EXTENSION)
    created = await create(scim, body)
    assert created["preferredLanguage"] == "en-US"
    assert created["addresses"] == body["addresses"]
    assert created[CUSTOM] == S33_CUSTOM_EXTENSION
    assert_schemas_consistent(created)
    assert await get_user(scim, created["id"]) == created
    patched = await patch(scim, created["id"], patch_op(
        {"op": "Replace", "path": "preferredLanguage", "value": "hi-IN"},
        {"op": "Add", "path": f"{CUSTOM}:CustomAttribute", "value": "701985"},
        {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Delhi"}))
    assert patched.status == 200, patched.body
    got = await get_user(scim, created["id"])
    assert got == patched.body
    assert got["preferredLanguage"] == "hi-IN"
    assert got[CUSTOM] == {"CustomAttribute": "701985"}
    assert got["addresses"] == [{**body["addresses"][0], "locality": "Delhi"}]


# --- §2.2 matching a user created by hand in the portal ----------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("status", ["active", "disabled"])
async def test_matching_filter_finds_a_portal_employee_then_entra_adopts_it(
        scim: Scim, gateway_env: GatewayEnv, status: str) -> None:
    employee_id = insert_portal_employee(gateway_env, "Priya.Sharma@Contoso.com", "Priya", "Sharma", status)
    found = await find(scim, eq_filter("userName", "priya.sharma@CONTOSO.com"))
    assert found["totalResults"] == 1
    match = found["Resources"][0]
    assert match["id"] == str(employee_id)
    assert match["userName"] == "Priya.Sharma@Contoso.com"
    assert match["active"] is (status == "active")
    assert match["name"] == {"givenName": "Priya", "familyName": "Sharma"}
    # a portal employee shows its sign-in email as its work email, so an emails-matching app finds it too
    assert match["emails"] == [{"value": "Priya.Sharma@Contoso.com", "type": "work", "primary": True}]
    # Entra PATCHes the differences (§2.2 step 4), e.g. the §3.2 multi-replace plus re-enabling
    body = copy.deepcopy(S32_REPLACE_MULTIPLE_WITHOUT_FLAG)
    body["Operations"].append({"op": "Replace", "path": "active", "value": "True"})
    adopted = await patch(scim, match["id"], body)
    assert adopted.status == 200, adopted.body
    got = await get_user(scim, match["id"])
    assert got == adopted.body and got["id"] == str(employee_id)
    assert (got["externalId"], got["displayName"], got["name"]) == \
        ("Eqpj", "Pvlo", {"givenName": "Gtfd", "familyName": "Pkqf"})
    assert got["emails"] == [{"type": "work", "value": "TestBcwqnm@test.microsoft.com", "primary": True}]
    assert got[ENTERPRISE] == {"employeeNumber": "Eqpj"} and got["active"] is True
    row = employee(gateway_env, employee_id)
    assert (row["email"], row["first_name"], row["last_name"], row["display_name"], row["employee_code"],
            row["status"], row["created_at"]) == ("Priya.Sharma@Contoso.com", "Gtfd", "Pkqf", "Pvlo", "Eqpj",
                                                  "active", "2024-03-01T09:00:00Z")
    again = await find(scim, eq_filter("externalId", "Eqpj"))
    assert [r["id"] for r in again["Resources"]] == [str(employee_id)]


# --- §4 every PATCH form, each followed by a GET and a look at the employees row ----------------------------

ABSENT: Any = object()


@dataclass
class PatchCase:
    """A PATCH Entra sends, what GET must show afterwards, and the legacy columns it must set."""

    id: str
    body: dict[str, Any]
    expect: dict[tuple[str, ...], Any]
    row: dict[str, Any] = field(default_factory=dict)
    before: list[dict[str, Any]] = field(default_factory=list)


WORK_PHONE, MOBILE_PHONE = "+91 11 4000 1000", "+91 98100 00001"
PHONES_BEFORE = patch_op(
    {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": WORK_PHONE},
    {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": MOBILE_PHONE},
    {"op": "Add", "path": "emails[type eq \"home\"].value", "value": "home@example.org"})

PATCH_CASES = [
    PatchCase("P3-s3.1-update-multi-valued", S31_UPDATE_MULTI,
              {("emails",): [{"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}],
               ("name", "familyName"): "updatedFamilyName"},
              {"last_name": "updatedFamilyName", "first_name": "givenName", "email": USER_NAME}),
    PatchCase("P1-s3.1-update-single-valued", S31_UPDATE_SINGLE,
              {("userName",): "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"},
              {"email": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}),
    PatchCase("P1-userName-letter-case-change", patch_op({"op": "Replace", "path": "userName",
                                                          "value": USER_NAME.lower()}),
              {("userName",): USER_NAME.lower()}, {"email": USER_NAME.lower()}),
    PatchCase("P2-s3.1-disable-false", S31_DISABLE, {("active",): False}, {"status": "disabled"}),
    PatchCase("P2-s3.2-disable-without-flag-False", S32_DISABLE_WITHOUT_FLAG, {("active",): False},
              {"status": "disabled"}),
    PatchCase("P2-s3.2-disable-with-flag", S32_DISABLE_WITH_FLAG, {("active",): False}, {"status": "disabled"}),
    PatchCase("P2-re-enable-True", patch_op({"op": "Replace", "path": "active", "value": "True"}),
              {("active",): True}, {"status": "active"}, before=[S32_DISABLE_WITHOUT_FLAG]),
    PatchCase("P2-re-enable-true", patch_op({"op": "replace", "path": "active", "value": True}),
              {("active",): True}, {"status": "active"}, before=[S31_DISABLE]),
    PatchCase("P1-s3.2-add-nickName-without-flag", S32_ADD_NICKNAME_WITHOUT_FLAG, {("nickName",): "Babs"}),
    PatchCase("P1-s3.2-add-nickName-with-flag", S32_ADD_NICKNAME_WITH_FLAG, {("nickName",): "Babs"}),
    PatchCase("P5-s3.2-replace-multiple-without-flag", S32_REPLACE_MULTIPLE_WITHOUT_FLAG,
              {("displayName",): "Pvlo",
               ("emails",): [{"value": "TestBcwqnm@test.microsoft.com", "type": "work", "primary": True}],
               ("name", "givenName"): "Gtfd", ("name", "familyName"): "Pkqf", ("externalId",): "Eqpj",
               (ENTERPRISE,): {"employeeNumber": "Eqpj"}},
              {"display_name": "Pvlo", "first_name": "Gtfd", "last_name": "Pkqf", "employee_code": "Eqpj"}),
    PatchCase("P4-s3.2-replace-multiple-with-flag", S32_REPLACE_MULTIPLE_WITH_FLAG,
              {("displayName",): "Bjfe",
               ("emails",): [{"value": "TestMhvaes@test.microsoft.com", "type": "work", "primary": True}],
               ("name", "givenName"): "Kkom", ("name", "familyName"): "Unua",
               (ENTERPRISE,): {"employeeNumber": "Aklq"}},
              {"display_name": "Bjfe", "first_name": "Kkom", "last_name": "Unua", "employee_code": "Aklq"}),
    PatchCase("P4-s3.4-scimitar-pathless-add-dotted", S34_SCIMITAR_PATHLESS_ADD,
              {("displayName",): "Foo Bar", ("title",): "Bar Foo",
               ("name",): {"givenName": "Foo", "familyName": "Bar", "formatted": "Foo Bar"}},
              {"display_name": "Foo Bar", "designation": "Bar Foo", "first_name": "Foo", "last_name": "Bar"}),
    PatchCase("P4-pathless-active-false", patch_op({"op": "replace", "value": {"active": False}}),
              {("active",): False}, {"status": "disabled"}),
    PatchCase("P4-pathless-active-False-string",
              patch_op({"op": "Replace", "value": {"active": "False", "title": "Guide"}}),
              {("active",): False, ("title",): "Guide"}, {"status": "disabled", "designation": "Guide"}),
    PatchCase("P4-pathless-urn-block", patch_op({"op": "Add", "value": {
        ENTERPRISE: {"department": "Front Desk", "employeeNumber": "E-7"}}}),
              {(ENTERPRISE,): {"department": "Front Desk", "employeeNumber": "E-7"}},
              {"department": "Front Desk", "employee_code": "E-7"}),
    PatchCase("P3-phone-numbers-work-and-mobile", patch_op(
        {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": WORK_PHONE},
        {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": MOBILE_PHONE}),
              {("phoneNumbers",): [{"type": "work", "value": WORK_PHONE}, {"type": "mobile", "value": MOBILE_PHONE}]},
              {"phone": WORK_PHONE, "mobile": MOBILE_PHONE}),
    PatchCase("P3-replace-keeps-other-entries", patch_op(
        {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+91 98100 99999"}),
              {("phoneNumbers",): [{"type": "work", "value": WORK_PHONE},
                                   {"type": "mobile", "value": "+91 98100 99999"}],
               ("emails",): [S31_CREATE_USER["emails"][0], {"type": "home", "value": "home@example.org"}]},
              {"phone": WORK_PHONE, "mobile": "+91 98100 99999"}, before=[PHONES_BEFORE]),
    PatchCase("P3-s3.4-sdk680-three-ops-one-address", S34_ADDRESS_THREE_OPS,
              {("addresses",): [{"type": "work", "formatted": "USZLTUSJXBYV", "locality": "OSGODHEVDCVD",
                                 "region": "YMVMOEMXAYGD"}]}),
    PatchCase("P5-enterprise-and-title-paths", patch_op(
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Tour Operations"},
        {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "701984"},
        {"op": "Add", "path": "title", "value": "Receptionist"}),
              {(ENTERPRISE,): {"department": "Tour Operations", "employeeNumber": "701984"},
               ("title",): "Receptionist"},
              {"department": "Tour Operations", "employee_code": "701984", "designation": "Receptionist"}),
    PatchCase("P6-s3.4-manager-bare-string", S34_MANAGER_BARE_STRING, {(ENTERPRISE,): {"manager": {"value": "271"}}}),
    PatchCase("P6-s3.1-example5-manager-ref-array", S31_EXAMPLE5_MANAGER,
              {(ENTERPRISE,): {"manager": {
                  "value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
                  "$ref": "http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}}}),
    PatchCase("P6-manager-object-replaces-old-manager",
              patch_op({"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": {"value": "272"}}),
              {(ENTERPRISE,): {"manager": {"value": "272"}}}, before=[S31_EXAMPLE5_MANAGER]),
    PatchCase("P6-manager-removed-with-empty-value",
              patch_op({"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": ""}),
              {(ENTERPRISE,): ABSENT}, before=[S34_MANAGER_BARE_STRING]),
    PatchCase("P7-add-on-a-set-single-valued-attribute-replaces",
              patch_op({"op": "Add", "path": "title", "value": "Host"}),
              {("title",): "Host"}, {"designation": "Host"},
              before=[patch_op({"op": "Add", "path": "title", "value": "Guest"})]),
    PatchCase("P8-remove-with-path-only", patch_op({"op": "Remove", "path": "title"}),
              {("title",): ABSENT}, {"designation": None},
              before=[patch_op({"op": "Add", "path": "title", "value": "Guest"})]),
    PatchCase("P8-remove-by-value-array", patch_op(
        {"op": "Remove", "path": "phoneNumbers", "value": [{"value": MOBILE_PHONE}]}),
              {("phoneNumbers",): [{"type": "work", "value": WORK_PHONE}]},
              {"phone": WORK_PHONE, "mobile": None}, before=[PHONES_BEFORE]),
    PatchCase("P8-remove-by-value-filter", patch_op(
        {"op": "remove", "path": "emails[value eq \"home@example.org\"]"}),
              {("emails",): S31_CREATE_USER["emails"]}, {"phone": WORK_PHONE, "mobile": MOBILE_PHONE},
              before=[PHONES_BEFORE]),
    PatchCase("P9-unknown-attributes-do-not-block-disable", patch_op(
        S33_ROLES_ADD["Operations"][0],
        {"op": "Add", "path": "fooBarUnknown", "value": "x"},
        {"op": "Add", "path": f"{CUSTOM}:CustomAttribute", "value": "701984"},
        {"op": "Replace", "path": "active", "value": "False"}),
              {("roles",): [{"value": "25", "display": "Role1234"}], (CUSTOM,): {"CustomAttribute": "701984"},
               ("active",): False},
              {"status": "disabled"}),
]


def _apply_expectation(resource: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    holder = resource
    for key in path[:-1]:
        holder = holder.setdefault(key, {})
    if value is ABSENT:
        holder.pop(path[-1], None)
    else:
        holder[path[-1]] = value


@pytest.mark.gen_test
@pytest.mark.parametrize("case", PATCH_CASES, ids=lambda c: c.id)
async def test_patch_form_then_get_shows_exactly_what_entra_sent(scim: Scim, gateway_env: GatewayEnv,
                                                                case: PatchCase) -> None:
    created = await create(scim)
    employee_id = employee_id_of(gateway_env, USER_NAME)
    for body in case.before:
        assert (await patch(scim, created["id"], body)).status == 200
    before = await get_user(scim, created["id"])
    reply = await patch(scim, created["id"], case.body)
    assert reply.status == 200, reply.body
    assert reply.headers["ETag"] == reply.body["meta"]["version"] != before["meta"]["version"]
    after = await get_user(scim, created["id"])
    assert after == reply.body
    expected = copy.deepcopy(before)
    for path, value in case.expect.items():
        _apply_expectation(expected, path, value)
    assert without_meta(after) == without_meta(expected)
    assert_schemas_consistent(after)
    assert after["id"] == created["id"] and after["meta"]["created"] == created["meta"]["created"]
    row = employee(gateway_env, employee_id)
    for column, value in case.row.items():
        assert row[column] == value, column
    # Idempotence: Entra re-sends a PATCH when it doubts the value; the second one changes nothing.
    again = await patch(scim, created["id"], case.body)
    assert again.status == 200, again.body
    assert await get_user(scim, created["id"]) == after
    assert dict(employee(gateway_env, employee_id)) == dict(row)


@pytest.mark.gen_test
async def test_a_disabled_user_is_still_found_and_re_enabled(scim: Scim, gateway_env: GatewayEnv) -> None:
    # §2.4: unassign → active false; restore → filter query → active true; user returned while inactive
    created = await create(scim)
    employee_id = employee_id_of(gateway_env, USER_NAME)
    assert (await patch(scim, created["id"], S32_DISABLE_WITHOUT_FLAG)).status == 200
    assert employee(gateway_env, employee_id)["status"] == "disabled"
    found = await find(scim, eq_filter("userName", USER_NAME.lower()))
    assert found["totalResults"] == 1 and found["Resources"][0]["active"] is False
    restored = await patch(scim, found["Resources"][0]["id"],
                           patch_op({"op": "Replace", "path": "active", "value": "True"}))
    assert restored.status == 200 and restored.body["active"] is True
    assert employee(gateway_env, employee_id)["status"] == "active"


@pytest.mark.gen_test
async def test_an_invalid_boolean_string_rejects_the_whole_patch(scim: Scim, gateway_env: GatewayEnv) -> None:
    # P2: other strings → 400; RFC 7644 §3.5.2 PATCH is atomic
    created = await create(scim)
    reply = await patch(scim, created["id"], patch_op({"op": "Replace", "path": "title", "value": "X"},
                                                      {"op": "Replace", "path": "active", "value": "Nope"}))
    assert reply.status == 400 and reply.body["schemas"] == [ERROR] and reply.body["scimType"] == "invalidValue"
    assert await get_user(scim, created["id"]) == created
    assert employee(gateway_env, employee_id_of(gateway_env, USER_NAME))["designation"] is None


# --- §2.4 delete, then create again ------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_delete_then_404_then_not_found_then_recreated_with_a_new_id(scim: Scim,
                                                                          gateway_env: GatewayEnv) -> None:
    created = await create(scim)
    employee_id = employee_id_of(gateway_env, USER_NAME)
    deleted = await scim("DELETE", f"/Users/{created['id']}")
    assert deleted.status == 204 and deleted.body is None
    missing = await scim("GET", f"/Users/{created['id']}")
    assert missing.status == 404 and missing.body["schemas"] == [ERROR] and missing.body["status"] == "404"
    assert (await find(scim, eq_filter("userName", USER_NAME)))["totalResults"] == 0
    assert (await find(scim, eq_filter("externalId", S31_CREATE_USER["externalId"])))["totalResults"] == 0
    assert employee(gateway_env, employee_id)["status"] == "removed"
    again = await create(scim, {**copy.deepcopy(S31_CREATE_USER), "externalId": "new-anchor",
                                "emails": [{"type": "work", "value": "new@testuser.com"}]})
    assert again["id"] != created["id"]
    assert again["externalId"] == "new-anchor" and again["emails"] == [{"type": "work", "value": "new@testuser.com"}]
    assert (await scim("GET", f"/Users/{created['id']}")).status == 404
    assert (await find(scim, eq_filter("externalId", S31_CREATE_USER["externalId"])))["totalResults"] == 0
    found = await find(scim, eq_filter("userName", USER_NAME))
    assert [r["id"] for r in found["Resources"]] == [again["id"]]
    assert employee(gateway_env, employee_id_of(gateway_env, USER_NAME))["status"] == "active"


# --- §6 #8/#9: no 409 loop --------------------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("state", ["active", "disabled", "portal-active", "portal-disabled"])
async def test_a_409_is_always_found_by_the_matching_filter(scim: Scim, gateway_env: GatewayEnv,
                                                           state: str) -> None:
    if state.startswith("portal-"):
        insert_portal_employee(gateway_env, "Loop.User@Contoso.com", "Loop", "User", state.split("-")[1])
    else:
        body = {**copy.deepcopy(S31_CREATE_USER), "userName": "Loop.User@Contoso.com"}
        created = await create(scim, body)
        if state == "disabled":
            assert (await patch(scim, created["id"], S31_DISABLE)).status == 200
    dup = await scim("POST", "/Users", {**copy.deepcopy(S31_CREATE_USER), "userName": "loop.user@contoso.COM"},
                     headers=ENTRA_HEADERS)
    assert dup.status == 409 and dup.body["scimType"] == "uniqueness" and dup.body["status"] == "409"
    found = await find(scim, eq_filter("userName", "loop.user@contoso.COM"))
    assert found["totalResults"] == 1
    assert found["Resources"][0]["userName"] == "Loop.User@Contoso.com"


# --- §2.6 / P11 matching filters ----------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_matching_filters_on_external_id_and_work_email(scim: Scim) -> None:
    created = await create(scim)
    other = await create(scim, {**copy.deepcopy(S31_CREATE_USER), "userName": "other@testuser.com",
                                "externalId": "other-ext",
                                "emails": [{"type": "work", "value": "other@testuser.com"}]})
    by_external = await find(scim, eq_filter("externalId", S31_CREATE_USER["externalId"]))
    assert [r["id"] for r in by_external["Resources"]] == [created["id"]]
    by_email = await find(scim, eq_filter('emails[type eq "work"].value', WORK_EMAIL))
    assert [r["id"] for r in by_email["Resources"]] == [created["id"]]
    by_email_case = await find(scim, eq_filter('emails[type eq "work"].value', WORK_EMAIL.lower()))
    assert [r["id"] for r in by_email_case["Resources"]] == [created["id"]]
    both = await find(scim, entra_query(filter='userName eq "other@testuser.com" and externalId eq "other-ext"'))
    assert [r["id"] for r in both["Resources"]] == [other["id"]]
    by_id = await find(scim, eq_filter("id", created["id"]))
    assert [r["id"] for r in by_id["Resources"]] == [created["id"]]
    assert (await find(scim, eq_filter("externalId", "nobody")))["Resources"] == []


@pytest.mark.gen_test
async def test_unknown_query_parameter_is_ignored(scim: Scim) -> None:
    # §1.1 aadOptscim062020 appended to the Tenant URL; RFC 7644 §3.4.2
    created = await scim("POST", "/Users?aadOptscim062020", copy.deepcopy(S31_CREATE_USER), headers=ENTRA_HEADERS)
    assert created.status == 201, created.body
    found = await find(scim, f"?aadOptscim062020&filter=userName+eq+%22{USER_NAME}%22")
    assert [r["id"] for r in found["Resources"]] == [created.body["id"]]
    patched = await scim("PATCH", f"/Users/{created.body['id']}?aadOptscim062020",
                         copy.deepcopy(S32_DISABLE_WITH_FLAG), headers=ENTRA_HEADERS)
    assert patched.status == 200 and patched.body["active"] is False
    fetched = await scim("GET", f"/Users/{created.body['id']}?aadOptscim062020=1")
    assert fetched.status == 200 and fetched.body == patched.body


@pytest.mark.gen_test
async def test_app_role_assignments_are_plain_roles_that_a_filter_finds(scim: Scim) -> None:
    """§3.3: Entra's AppRoleAssignmentsComplex POST labels roles ``displayName``, its PATCH adds
    them as JSON text; both are stored as plain roles keyed on the role's value, so adding a role
    the user has changes nothing and ``roles.value eq`` finds the user."""
    complex_roles = [{"primary": False, "type": "WindowsAzureActiveDirectoryRole", "displayName": name, "value": name}
                     for name in ("Admin", "User")]
    created = await create(scim, {**S31_CREATE_USER, "roles": complex_roles})
    stored = [{"primary": False, "type": "WindowsAzureActiveDirectoryRole", "display": name, "value": name}
              for name in ("Admin", "User")]
    assert created["roles"] == stored
    added = patch_op({"op": "Add", "path": "roles", "value": [
        {"value": json.dumps({"id": f"assignment-{name}", "value": name, "displayName": name})}
        for name in ("User", "Host")]})
    reply = await patch(scim, created["id"], added)
    assert reply.status == 200, reply.body
    assert reply.body["roles"] == [*stored, {"value": "Host", "display": "Host"}]
    again = await patch(scim, created["id"], added)
    assert again.status == 200 and again.body == reply.body
    found = await find(scim, entra_query(filter='roles.value eq "Host"'))
    assert [user["id"] for user in found["Resources"]] == [created["id"]]

