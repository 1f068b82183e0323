"""The schema model loaded from the bundled RFC 7643 documents (adapters/schema/)."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import pytest

from adapters.query import AttrPath
from adapters.schema import Attribute, ResourceType, Schema, UnknownAttribute, resource_types, user_schema_info

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def bundled(name: str) -> Any:
    return json.loads(files("schemas").joinpath("resource").joinpath(name).read_text(encoding="utf-8"))


@pytest.fixture
def user() -> ResourceType:
    return resource_types()["User"]


@pytest.fixture
def group() -> ResourceType:
    return resource_types()["Group"]


def names(attributes: tuple[Attribute, ...]) -> list[str]:
    return [a.name for a in attributes]


# --- the bundled documents -----------------------------------------------------------------


def test_resource_types_are_user_and_group_with_the_enterprise_extension(user: ResourceType) -> None:
    types = resource_types()
    assert set(types) == {"User", "Group"}
    assert (user.endpoint, user.core.id) == ("/Users", USER)
    assert [(ext.id, required) for ext, required in user.extensions] == [(ENTERPRISE, False)]
    assert (types["Group"].endpoint, types["Group"].core.id, types["Group"].extensions) == ("/Groups", GROUP, ())


def test_model_is_loaded_once() -> None:
    assert resource_types() is resource_types()
    assert resource_types()["User"].core is resource_types()["User"].core


def test_the_resource_types_hold_every_bundled_schema() -> None:
    schemas = {s.id for t in resource_types().values() for s in (t.core, *(ext for ext, _ in t.extensions))}
    assert schemas == {USER, ENTERPRISE, GROUP}


def test_user_schema_has_every_rfc7643_attribute(user: ResourceType) -> None:
    assert names(user.core.attributes) == [
        "userName", "name", "displayName", "nickName", "profileUrl", "title", "userType", "preferredLanguage",
        "locale", "timezone", "active", "password", "emails", "phoneNumbers", "ims", "photos", "addresses",
        "groups", "entitlements", "roles", "x509Certificates",
    ]
    name = user.core.attribute("name")
    assert name is not None and names(name.sub_attributes) == [
        "formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"]
    for plural in ("emails", "phoneNumbers", "ims", "photos", "entitlements", "roles", "x509Certificates"):
        attribute = user.core.attribute(plural)
        assert attribute is not None and attribute.multi_valued and attribute.type == "complex"
        assert names(attribute.sub_attributes) == ["value", "display", "type", "primary"], plural
    addresses = user.core.attribute("addresses")
    assert addresses is not None and names(addresses.sub_attributes) == [
        "formatted", "streetAddress", "locality", "region", "postalCode", "country", "type", "primary"]


def test_attribute_characteristics_follow_rfc7643(user: ResourceType) -> None:
    core = user.core
    user_name = core.attribute("userName")
    assert user_name == Attribute(
        "userName", "string", False, True, False, "readWrite", "default", "server", (), (), (),
        description=user_name.description if user_name else "",
    )
    password = core.attribute("password")
    assert password is not None and (password.mutability, password.returned) == ("writeOnly", "never")
    groups = core.attribute("groups")
    assert groups is not None and groups.mutability == "readOnly"
    assert all(sub.mutability == "readOnly" for sub in groups.sub_attributes)
    emails = core.attribute("emails")
    assert emails is not None
    email_type = emails.sub("type")
    assert email_type is not None and email_type.canonical_values == ("work", "home", "other")
    primary = emails.sub("primary")
    assert primary is not None and primary.type == "boolean"
    photos = core.attribute("photos")
    photo_value = photos.sub("value") if photos else None
    assert photo_value is not None and (photo_value.type, photo_value.reference_types) == ("reference", ("external",))
    certificates = core.attribute("x509Certificates")
    assert certificates is not None and certificates.sub("value") is not None
    assert certificates.sub("value").type == "binary"  # type: ignore[union-attr]
    ims = core.attribute("ims")
    ims_type = ims.sub("type") if ims else None
    assert ims_type is not None and "gtalk" in ims_type.canonical_values


def test_enterprise_and_group_schemas(user: ResourceType, group: ResourceType) -> None:
    enterprise = user.schema_for_urn(ENTERPRISE)
    assert enterprise is not None and names(enterprise.attributes) == [
        "employeeNumber", "costCenter", "organization", "division", "department", "manager"]
    manager = enterprise.attribute("manager")
    assert manager is not None and names(manager.sub_attributes) == ["value", "$ref", "displayName"]
    assert manager.sub("$ref").reference_types == ("User",)  # type: ignore[union-attr]
    assert manager.sub("displayName").mutability == "readOnly"  # type: ignore[union-attr]
    assert names(group.core.attributes) == ["displayName", "members"]
    members = group.core.attribute("members")
    assert members is not None and names(members.sub_attributes) == ["value", "$ref", "display", "type"]
    assert all(sub.mutability == "immutable" for sub in members.sub_attributes)


def test_schema_to_json_is_the_bundled_document_without_meta() -> None:
    for file_name, urn in (("User.json", USER), ("EnterpriseUser.json", ENTERPRISE), ("Group.json", GROUP)):
        document = bundled(file_name)
        assert "meta" not in document
        schema = next(t.schema_for_urn(urn) for t in resource_types().values() if t.schema_for_urn(urn))
        assert schema is not None
        assert schema.to_json() == document
        assert schema.to_json()["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]


def test_resource_type_to_json_is_the_bundled_document() -> None:
    documents = bundled("ResourceTypes.json")
    assert [rtype.to_json() for rtype in resource_types().values()] == documents
    assert documents[0]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]


# --- case-insensitive lookups --------------------------------------------------------------


def test_lookups_ignore_case(user: ResourceType) -> None:
    assert user.core.attribute("USERNAME") is user.core.attribute("userName")
    name = user.core.attribute("Name")
    assert name is not None and name.sub("GIVENNAME") is name.sub("givenName") is not None
    assert user.core.attribute("nope") is None and name.sub("nope") is None
    assert user.schema_for_urn(ENTERPRISE.upper()) is user.schema_for_urn(ENTERPRISE) is not None
    assert user.schema_for_urn(USER.lower()) is user.core
    assert user.schema_for_urn("urn:ietf:params:scim:schemas:extension:enterprise:2.0User") is None


# --- resolve ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, expected",
    [
        (AttrPath("USERNAME"), AttrPath("userName")),
        (AttrPath("Name", "GivenName"), AttrPath("name", "givenName")),
        (AttrPath("username", urn=USER.upper()), AttrPath("userName")),
        (AttrPath("EMAILS", "VALUE"), AttrPath("emails", "value")),
        (AttrPath("employeenumber", urn=ENTERPRISE.upper()), AttrPath("employeeNumber", urn=ENTERPRISE)),
        (AttrPath("MANAGER", "VALUE", urn=ENTERPRISE), AttrPath("manager", "value", urn=ENTERPRISE)),
        (AttrPath(f"{ENTERPRISE.upper()}:Department"), AttrPath("department", urn=ENTERPRISE)),
        (AttrPath(f"{USER}:userName"), AttrPath("userName")),
        (AttrPath("department"), AttrPath("department", urn=ENTERPRISE)),
    ],
)
def test_resolve_canonicalises_paths(user: ResourceType, given: AttrPath, expected: AttrPath) -> None:
    assert user.resolve(given)[0] == expected


def test_resolve_returns_the_sub_attribute(user: ResourceType) -> None:
    path, attribute = user.resolve(AttrPath("emails", "primary"))
    assert attribute.name == "primary" and attribute.type == "boolean"
    path, attribute = user.resolve(AttrPath("emails"))
    assert attribute.multi_valued and attribute.type == "complex"


def test_resolve_knows_the_common_attributes(user: ResourceType, group: ResourceType) -> None:
    path, id_ = user.resolve(AttrPath("ID"))
    assert path == AttrPath("id")
    assert (id_.mutability, id_.returned, id_.case_exact) == ("readOnly", "always", True)
    path, external_id = group.resolve(AttrPath("externalid", urn=GROUP))
    assert path == AttrPath("externalId")
    assert (external_id.mutability, external_id.case_exact) == ("readWrite", True)
    path, last_modified = user.resolve(AttrPath("Meta", "LASTMODIFIED"))
    assert path == AttrPath("meta", "lastModified") and last_modified.type == "dateTime"
    meta = user.resolve(AttrPath("meta"))[1]
    assert meta.type == "complex" and meta.mutability == "readOnly"
    assert names(meta.sub_attributes) == ["resourceType", "created", "lastModified", "location", "version"]


@pytest.mark.parametrize(
    "path, message",
    [
        (AttrPath("nickname2"), "nickname2"),
        (AttrPath("name", "nope"), "name.nope"),
        (AttrPath("userName", "x"), "userName.x"),
        (AttrPath("userName", urn=ENTERPRISE), "userName"),
        (AttrPath("id", urn=ENTERPRISE), "id"),
        (AttrPath("department", urn="urn:example:unknown:2.0:User"), "urn:example:unknown:2.0:User"),
        (AttrPath("urn:example:unknown:2.0:User:department"), "urn:example:unknown:2.0:User"),
    ],
)
def test_resolve_rejects_unknown_paths(user: ResourceType, path: AttrPath, message: str) -> None:
    with pytest.raises(UnknownAttribute, match=message):
        user.resolve(path)


# --- strict lookups of canonical paths (what adapters receive) -------------------------------


def test_the_sdk_names_are_the_one_model(user: ResourceType) -> None:
    import adapters

    assert adapters.AttrInfo is Attribute and adapters.SchemaInfo is ResourceType
    assert user_schema_info() is user is adapters.user_schema_info()


@pytest.mark.parametrize(
    "path, expected",
    [
        (AttrPath("userName"), (None, "userName")),
        (AttrPath("USERNAME", urn=USER.upper()), (None, "userName")),
        (AttrPath("id"), (None, "id")),
        (AttrPath("meta", "created"), (None, "meta")),
        (AttrPath("department", urn=ENTERPRISE.upper()), (ENTERPRISE, "department")),
        (AttrPath("manager", "value", urn=ENTERPRISE), (ENTERPRISE, "manager")),
        (AttrPath("department"), None),  # a bare extension name is not canonical
        (AttrPath("id", urn=ENTERPRISE), None),
        (AttrPath("foo", urn="urn:example:custom"), None),
        (AttrPath("schemas"), None),
    ],
)
def test_locate_is_strict(user: ResourceType, path: AttrPath, expected: tuple[str | None, str] | None) -> None:
    found = user.locate(path)
    assert (None if found is None else (found[0], found[1].name)) == expected
    assert user.attribute(path) is (None if found is None else found[1])


def test_common_attributes_and_case_exactness(user: ResourceType) -> None:
    assert user.is_common(AttrPath("ID")) and user.is_common(AttrPath("meta", "version", urn=USER))
    assert not user.is_common(AttrPath("userName")) and not user.is_common(AttrPath("id", urn=ENTERPRISE))
    exact = [AttrPath("id"), AttrPath("externalId"), AttrPath("meta", "version")]
    folded = [AttrPath("userName"), AttrPath("emails", "value"), AttrPath("manager", "value", urn=ENTERPRISE),
              AttrPath("meta", "created"), AttrPath("nope"), AttrPath("name", "nope")]
    assert [user.case_exact(p) for p in exact] == [True] * len(exact)
    assert [user.case_exact(p) for p in folded] == [False] * len(folded)


def test_group_does_not_know_user_attributes(group: ResourceType) -> None:
    with pytest.raises(UnknownAttribute, match="Group"):
        group.resolve(AttrPath("userName"))
    assert issubclass(UnknownAttribute, ValueError)


def test_schema_model_objects_are_immutable(user: ResourceType) -> None:
    with pytest.raises(AttributeError):
        user.name = "Other"  # type: ignore[misc]
    assert isinstance(user.core, Schema)


def test_resolve_remembers_paths_up_to_its_limit(user: ResourceType, monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.schema import resource_type

    monkeypatch.setattr(resource_type, "_RESOLVED_LIMIT", len(user._resolved) + 1)
    first = user.resolve(AttrPath(attr="uSeRnAmE"))
    assert user.resolve(AttrPath(attr="uSeRnAmE")) is first  # the remembered answer
    assert first[0] == AttrPath(attr="userName")
    beyond = AttrPath(attr="dEpArTmEnT")  # spellings no other test resolves
    assert user.resolve(beyond)[0] == AttrPath(attr="department", urn=ENTERPRISE)
    assert beyond not in user._resolved  # the limit was reached: resolved, not remembered
    with pytest.raises(UnknownAttribute):
        user.resolve(AttrPath(attr="nope"))
