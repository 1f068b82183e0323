"""The LDAP adapter's pure parts without a server: the entry ⇄ SCIM mapping, the RFC 4515 filter
text and its escaping, the attribute map."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.errors import InvalidValue, UnsupportedFilter
from adapters.ldap import mapping
from adapters.ldap.attributes import AttributeMap
from adapters.ldap.directory_schema import DIRECTORY_STRING, IA5_STRING, TELEPHONE_NUMBER, LdapAttributeType
from adapters.ldap.filters import FALSE, TRUE, FilterTranslator, and_, escape, not_, or_
from adapters.query import And, AttrPath, Compare, Not, Or, Present, ValuePath
from adapters.schema import user_schema_info

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
UUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def _type(name: str, syntax: str = DIRECTORY_STRING, rule: str = "caseIgnoreMatch",
          substr: str | None = "caseIgnoreSubstringsMatch", ordering: str | None = None) -> LdapAttributeType:
    return LdapAttributeType(name=name, equality=rule, substring=substr, ordering=ordering, syntax=syntax)


#: The OpenLDAP definitions of the default targets (core, cosine, inetorgperson schemas).
TYPES = {t.name.lower(): t for t in (
    _type("mail", IA5_STRING, "caseIgnoreIA5Match", "caseIgnoreIA5SubstringsMatch"),
    _type("employeeType"), _type("givenName"), _type("sn"), _type("displayName"), _type("title"),
    _type("preferredLanguage"), _type("employeeNumber"), _type("departmentNumber"), _type("o"),
    _type("telephoneNumber", TELEPHONE_NUMBER, "telephoneNumberMatch", "telephoneNumberSubstringsMatch"),
    _type("mobile", TELEPHONE_NUMBER, "telephoneNumberMatch", "telephoneNumberSubstringsMatch"),
)}
AMAP = AttributeMap()
TRANSLATOR = FilterTranslator(AMAP, TYPES, user_schema_info())


def stored(desired: mapping.Desired, **operational: str) -> mapping.Entry:
    """The entry the server would hold after adding ``desired``."""
    attrs = {k: v for k, v in desired.values.items() if v}
    attrs.update({"uid": [desired.rdn], "description": [desired.blob], "entryuuid": [UUID],
                  "createtimestamp": ["20240131120000Z"], "modifytimestamp": ["20240131120500Z"],
                  "objectclass": ["top", "person", "organizationalPerson", *desired.add_object_classes]})
    attrs.update({k.lower(): [v] for k, v in operational.items()})
    return mapping.Entry(dn=f"uid={desired.rdn},ou=1,dc=x", attrs=attrs)


# -- escaping and filter text -----------------------------------------------------------------

@pytest.mark.parametrize(("value", "escaped"), [
    ("*", "\\2a"), (")(uid=*", "\\29\\28uid=\\2a"), ("\\", "\\5c"), ("a\x00b", "a\\00b"),
    ("Zoë", "Zo\\c3\\ab"), ("tab\t", "tab\\09"), ("plain@x.test", "plain@x.test"),
])
def test_escape_follows_rfc_4515(value: str, escaped: str) -> None:
    assert escape(value) == escaped


def test_escape_rejects_text_that_is_not_unicode() -> None:
    with pytest.raises(UnsupportedFilter):
        escape("\ud800")


def test_constants_fold() -> None:
    assert and_([TRUE, "(a=1)"]) == "(a=1)" and and_(["(a=1)", FALSE]) == FALSE and and_([]) == TRUE
    assert or_([FALSE, "(a=1)", "(b=2)"]) == "(|(a=1)(b=2))" and or_(["(a=1)", TRUE]) == TRUE
    assert not_(TRUE) == FALSE and not_(FALSE) == TRUE and not_("(a=1)") == "(!(a=1))"


@pytest.mark.parametrize(("node", "text"), [
    (Compare(AttrPath("userName"), "eq", "A*b"), "(mail=A\\2ab)"),
    (Compare(AttrPath("userName"), "ne", "x"), TRUE),  # LDAP would drop " x": every user, checked exactly
    (Compare(AttrPath("userName"), "sw", " "), "(mail=*)"),  # only spaces: LDAP would see an empty substring
    (Compare(AttrPath("displayName"), "eq", "a b"), "(displayName=a\\20b)"),
    (Compare(AttrPath("displayName"), "sw", "bob j"), "(displayName=bob*j*)"),
    (Not(Present(AttrPath("name", "familyName"))), '(!(&(sn=*)(!(description=*"sn":"*))))'),
    (Compare(AttrPath("userName"), "eq", "zoë@x"), FALSE),  # IA5: cannot be stored
    (Compare(AttrPath("userName"), "ne", "zoë@x"), TRUE),
    (Compare(AttrPath("displayName"), "co", "(x)"), "(displayName=*\\28x\\29*)"),
    (Compare(AttrPath("title"), "sw", ""), "(title=*)"),
    (Compare(AttrPath("title"), "eq", None), "(!(title=*))"),
    (Present(AttrPath("name", "givenName")), "(givenName=*)"),
    (Compare(AttrPath("department", urn=ENTERPRISE), "ew", "es"), "(departmentNumber=*es)"),
    (Compare(AttrPath("active"), "eq", False), '(&(shadowExpire=1)(!(description=*"active":null*)))'),
    (Compare(AttrPath("active"), "ne", False), '(!(&(shadowExpire=1)(!(description=*"active":null*))))'),
    (Compare(AttrPath("active"), "eq", True), '(&(!(shadowExpire=1))(!(description=*"active":null*)))'),
    (Compare(AttrPath("id"), "eq", UUID), f"(entryUUID={UUID})"),
    (Compare(AttrPath("id"), "eq", "1)(x=*"), FALSE),
    (Compare(AttrPath("meta", "created"), "gt", "2024-01-31T17:30:00+05:30"),
     "(&(createTimestamp>=20240131120000Z)(!(createTimestamp=20240131120000Z)))"),
    (Compare(AttrPath("meta", "lastModified"), "ge", "2024-01-31T12:00:00.250Z"),
     "(&(modifyTimestamp>=20240131120000Z)(!(modifyTimestamp=20240131120000Z)))"),
    (Or(Compare(AttrPath("title"), "eq", "a"), Not(Present(AttrPath("displayName")))),
     "(|(title=a)(!(displayName=*)))"),
    (ValuePath(AttrPath("phoneNumbers"), And(Compare(AttrPath("type"), "eq", "Mobile"),
                                             Compare(AttrPath("value"), "sw", "+1"))),
     '(|(&(mobile=*)(mobile=+1*))(description=*"phoneNumbers":[*"type":"mobile"*"type":"mobile"*))'),
])
def test_translation(node: Any, text: str) -> None:
    assert TRANSLATOR.translate(node).text == text


def test_case_exact_attributes_are_checked_exactly_after_ldap() -> None:
    translated = TRANSLATOR.translate(And(Compare(AttrPath("externalId"), "eq", "Ab"),
                                          Compare(AttrPath("title"), "eq", "t")))
    assert translated.text == "(&(employeeType=Ab)(title=t))"
    assert translated.matches({"externalId": "Ab", "title": "T"})
    assert not translated.matches({"externalId": "ab", "title": "t"}) and not translated.matches({"externalId": "Ab"})
    ne = TRANSLATOR.translate(Compare(AttrPath("externalId"), "ne", "Ab"))
    assert ne.text == TRUE and ne.matches({}) and ne.matches({"externalId": "ab"}) and not ne.matches({"externalId": "Ab"})
    negated = TRANSLATOR.translate(Not(Compare(AttrPath("externalId"), "eq", "Ab")))  # decided on every user
    assert negated.text == TRUE and negated.matches({"externalId": "ab"}) and not negated.matches({"externalId": "Ab"})


def test_the_exact_test_reads_date_like_text_as_text_where_the_schema_says_string() -> None:
    """The exact test of an attribute kept in the JSON extras compared any two date-like strings
    as moments, where SQL and the LDAP sort compare a string attribute's text as text (a code
    review): ``...T10:00:00+05:00`` equalled ``...T05:00:00Z``."""
    india = {"nickName": "2024-01-01T10:00:00+05:00"}
    assert TRANSLATOR.translate(Compare(AttrPath("nickName"), "eq", "2024-01-01T10:00:00+05:00")).matches(india)
    assert not TRANSLATOR.translate(Compare(AttrPath("nickName"), "eq", "2024-01-01T05:00:00Z")).matches(india)
    rtype = user_schema_info()
    assert [rtype.date_time(AttrPath(*p)) for p in (("meta", "created"), ("meta", "lastModified"), ("title",),
                                                    ("name", "givenName"), ("emails", "value"), ("emails",))] == [
        True, True, False, False, False, False]


def test_translation_bounds_the_work() -> None:
    node: Any = Compare(AttrPath("title"), "eq", "x")
    for _ in range(40):
        node = Not(node)
    with pytest.raises(UnsupportedFilter):
        TRANSLATOR.translate(node)
    wide: Any = Compare(AttrPath("title"), "eq", "0")
    for n in range(1, 400):
        wide = Or(wide, Compare(AttrPath("title"), "eq", str(n)))
    with pytest.raises(UnsupportedFilter):
        TRANSLATOR.translate(wide)


# -- mapping ----------------------------------------------------------------------------------

def test_round_trip_keeps_what_ldap_cannot_hold_in_the_extras() -> None:
    sent = {"schemas": [CORE, ENTERPRISE], "userName": "Ana@x.test", "externalId": "e", "active": True,
            "name": {"givenName": "Ana", "middleName": "M"}, "nickName": "an", "password": "never",
            "emails": [{"type": "work", "value": "ana@x.test", "primary": True}],
            "phoneNumbers": [{"type": "Work", "value": "+1 1", "primary": True}, {"type": "fax", "value": "2"},
                             {"type": "work", "value": "+1 3"}],
            ENTERPRISE: {"department": "D", "costCenter": "C"}}
    desired = mapping.to_ldap(sent, AMAP)
    assert desired.values["mail"] == ["Ana@x.test"] and desired.values["telephonenumber"] == ["+1 1"]
    assert desired.values["cn"] == ["Ana"] and desired.values["sn"] == ["Ana"]  # derived
    assert "never" not in desired.blob and "+1 1" not in desired.blob
    back = mapping.from_ldap(stored(desired), AMAP)
    assert back["id"] == UUID and back["meta"]["created"] == "2024-01-31T12:00:00Z"
    assert back["name"] == {"givenName": "Ana", "middleName": "M"}  # sn holds a derived value
    assert back["phoneNumbers"] == [{"type": "Work", "value": "+1 1", "primary": True}, {"type": "fax", "value": "2"},
                                    {"type": "work", "value": "+1 3"}]  # a second work number: kept in the extras
    assert back[ENTERPRISE] == {"department": "D", "costCenter": "C"} and back["nickName"] == "an"
    assert "password" not in back and back["active"] is True


def test_disable_keeps_an_expiry_date_set_by_someone_else() -> None:
    first = stored(mapping.to_ldap({"userName": "u@x", "active": False}, AMAP))
    assert first.values("shadowExpire") == ["1"] and "shadowAccount" in first.values("objectClass")
    assert mapping.from_ldap(first, AMAP)["active"] is False
    assert mapping.to_ldap({"userName": "u@x"}, AMAP, first).values["shadowexpire"] == ["1"]  # absent: kept
    assert mapping.to_ldap({"userName": "u@x", "active": True}, AMAP, first).values["shadowexpire"] == []
    dated = mapping.Entry(first.dn, {**first.attrs, "shadowexpire": ["40000"]})
    assert mapping.from_ldap(dated, AMAP)["active"] is True
    assert "shadowexpire" not in mapping.to_ldap({"userName": "u@x", "active": True}, AMAP, dated).values


def test_versions_change_with_every_write_and_every_value() -> None:
    entry = stored(mapping.to_ldap({"userName": "u@x"}, AMAP))
    rewritten = stored(mapping.to_ldap({"userName": "u@x"}, AMAP, entry))
    edited = mapping.Entry(entry.dn, {**entry.attrs, "title": ["new"]})
    tags = {mapping.version_tag(e, AMAP) for e in (entry, rewritten, edited)}
    assert len(tags) == 3


def test_rdn_is_shared_by_spellings_the_directory_treats_as_equal() -> None:
    assert mapping.rdn_value("Bob@X.com") == mapping.rdn_value(" bob@x.COM ")
    assert mapping.rdn_value("bob@x.com") != mapping.rdn_value("bob2@x.com")
    assert mapping.is_gateway_rdn(mapping.rdn_value("a")) and not mapping.is_gateway_rdn("kim")


def test_values_ldap_cannot_store_are_refused() -> None:
    with pytest.raises(InvalidValue):
        mapping.to_ldap({"userName": "u@x", "title": "a\x00b"}, AMAP)
    with pytest.raises(InvalidValue):
        mapping.to_ldap({"userName": ""}, AMAP)


def test_attribute_map_overrides_and_conflicts() -> None:
    amap = AttributeMap({"title": None, "userType": "employeeType", "externalId": None, "emails.home": "homeEmail"})
    assert "title" not in amap.by_ldap and amap.by_ldap["employeetype"].key == "userType"
    assert amap.typed[("emails", "home")].ldap == "homeEmail"
    for bad in ({"userName": None}, {"title": "mail"}, {"nickName": "objectClass"}, {"bogus": "x"}):
        with pytest.raises(ValueError):
            AttributeMap(bad)


def test_a_hand_edited_json_value_does_not_break_reads() -> None:
    entry = stored(mapping.to_ldap({"userName": "u@x", "nickName": "n"}, AMAP))
    broken = mapping.Entry(entry.dn, {**entry.attrs, "description": ["vizmo-scim:{not json", "vizmo-scim:{\"v\":\"x\"}",
                                                                     "A person the admin described"]})
    resource = mapping.from_ldap(broken, AMAP)
    assert resource["userName"] == "u@x" and "nickName" not in resource
    rewritten = mapping.to_ldap({"userName": "u@x"}, AMAP, broken)
    assert rewritten.blob.startswith(mapping.BLOB_PREFIX + '{"derived"')


@pytest.mark.parametrize("generalized, iso", [
    ("20240131120000Z", "2024-01-31T12:00:00Z"), ("20240131120000.0Z", "2024-01-31T12:00:00Z"),
    ("20240131173000+0530", "2024-01-31T12:00:00Z"), ("20241231233000-0100", "2025-01-01T00:30:00Z"),
    ("202401311200Z", "2024-01-31T12:00:00Z"), ("2024013112Z", "2024-01-31T12:00:00Z"),
    ("20241399120000Z", "20241399120000Z"), ("not a time", "not a time")])
def test_a_generalized_time_is_read_in_utc_whatever_its_form(generalized: str, iso: str) -> None:
    """RFC 4517 §3.3.13: an offset was dropped (``+0530`` read as UTC, 5½ hours off) and a time
    to the minute was shown raw (a time review); what is no GeneralizedTime stays as it is."""
    assert mapping.generalized_to_iso(generalized) == iso
