"""The conformance kit's sample users are what the gateway hands an adapter: canonical SCIM JSON
(RFC 7643 §2.1, §3; RFC 7644 §3.3) that the gateway's own validation accepts, with every attribute
Entra ID and Okta send, so the kit's round-trip checks test what provisioning really stores."""

from __future__ import annotations

import copy

import pytest

from adapters.schema import user_schema_info
from adapters.testkit import CUSTOM_EXTENSION_URN, ENTERPRISE_USER_URN, full_user, make_user, user_view
from gateway.scim.validation.canonical import canonicalise_resource
from gateway.scim.validation.resource import validate_resource

SAMPLES = {
    "full": full_user("Joy.Young@example.com"),
    "inactive": full_user("off@example.com", active=False),
    "changed": full_user("x@example.com", nick_name="X", locale="fr-CA", preferred_language="fr", manager="m-2",
                         custom={"costCenter": "CC-7"}, addresses=[{"type": "home", "country": "FR"}]),
    "minimal": make_user("min@example.com"),
}


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_users_are_canonical_and_valid(name: str) -> None:
    sent = SAMPLES[name]
    canonical = canonicalise_resource(copy.deepcopy(sent), user_schema_info())
    assert canonical == sent
    validate_resource(canonical, user_schema_info())


def test_the_full_user_carries_what_entra_and_okta_send() -> None:
    user = full_user("joy@example.com")
    for attribute in ("externalId", "name", "displayName", "nickName", "title", "preferredLanguage", "locale",
                      "active", "emails", "phoneNumbers", "addresses", ENTERPRISE_USER_URN, CUSTOM_EXTENSION_URN):
        assert attribute in user, attribute
    assert {p["type"] for p in user["phoneNumbers"]} == {"work", "mobile"}
    assert user[ENTERPRISE_USER_URN]["manager"] == {"value": "manager-of-joy"}
    assert CUSTOM_EXTENSION_URN not in user["schemas"]  # the gateway lists only the extensions it serves


def test_user_view_counts_an_unknown_extension_as_listed_but_not_a_dropped_block() -> None:
    sent = full_user("joy@example.com")
    listed = {**sent, "schemas": [*sent["schemas"], CUSTOM_EXTENSION_URN], "id": "1", "meta": {}}
    assert user_view(listed) == user_view(sent)
    dropped = {key: value for key, value in listed.items() if key != CUSTOM_EXTENSION_URN}
    assert user_view(dropped) != user_view(sent)
    unlisted_enterprise = {**sent, "schemas": [s for s in sent["schemas"] if s != ENTERPRISE_USER_URN]}
    assert user_view(unlisted_enterprise) != user_view(sent)
