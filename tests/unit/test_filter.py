"""Tests of the SCIM filter and path parser (RFC 7644 §3.4.2.2, §3.5.2, §3.10)."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import parse_qs

import pytest

from adapters.query import And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from gateway.scim.errors import FilterSyntaxError
from gateway.scim.filter import PatchPath, parse_attr_path, parse_filter, parse_patch_path

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def p(attr: str, sub: str | None = None, urn: str | None = None) -> AttrPath:
    return AttrPath(attr=attr, sub_attr=sub, urn=urn)


def eq(attr: str, value: object, sub: str | None = None) -> Compare:
    return Compare(p(attr, sub), "eq", value)  # type: ignore[arg-type]


# --- RFC 7644 §3.4.2.2 Figure 2: every example filter ---------------------------------------

RFC_EXAMPLES: list[tuple[str, Filter]] = [
    ('userName eq "bjensen"', eq("userName", "bjensen")),
    ('name.familyName co "O\'Malley"', Compare(p("name", "familyName"), "co", "O'Malley")),
    ('userName sw "J"', Compare(p("userName"), "sw", "J")),
    (f'{CORE_USER}:userName sw "J"', Compare(p("userName", urn=CORE_USER), "sw", "J")),
    ("title pr", Present(p("title"))),
    ('meta.lastModified gt "2011-05-13T04:42:34Z"', Compare(p("meta", "lastModified"), "gt", "2011-05-13T04:42:34Z")),
    ('meta.lastModified ge "2011-05-13T04:42:34Z"', Compare(p("meta", "lastModified"), "ge", "2011-05-13T04:42:34Z")),
    ('meta.lastModified lt "2011-05-13T04:42:34Z"', Compare(p("meta", "lastModified"), "lt", "2011-05-13T04:42:34Z")),
    ('meta.lastModified le "2011-05-13T04:42:34Z"', Compare(p("meta", "lastModified"), "le", "2011-05-13T04:42:34Z")),
    ('title pr and userType eq "Employee"', And(Present(p("title")), eq("userType", "Employee"))),
    ('title pr or userType eq "Intern"', Or(Present(p("title")), eq("userType", "Intern"))),
    (f'schemas eq "{ENTERPRISE}"', eq("schemas", ENTERPRISE)),
    (
        'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
        And(
            eq("userType", "Employee"),
            Or(Compare(p("emails"), "co", "example.com"), Compare(p("emails", "value"), "co", "example.org")),
        ),
    ),
    (
        'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
        And(
            Compare(p("userType"), "ne", "Employee"),
            Not(Or(Compare(p("emails"), "co", "example.com"), Compare(p("emails", "value"), "co", "example.org"))),
        ),
    ),
    (
        'userType eq "Employee" and (emails.type eq "work")',
        And(eq("userType", "Employee"), eq("emails", "work", "type")),
    ),
    (
        'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
        And(
            eq("userType", "Employee"),
            ValuePath(p("emails"), And(eq("type", "work"), Compare(p("value"), "co", "@example.com"))),
        ),
    ),
    (
        'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
        Or(
            ValuePath(p("emails"), And(eq("type", "work"), Compare(p("value"), "co", "@example.com"))),
            ValuePath(p("ims"), And(eq("type", "xmpp"), Compare(p("value"), "co", "@foo.com"))),
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), RFC_EXAMPLES, ids=[t for t, _ in RFC_EXAMPLES])
def test_rfc7644_example_filters(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


# --- operators, keywords, precedence --------------------------------------------------------


@pytest.mark.parametrize("op", ["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"])
def test_every_compare_operator(op: str) -> None:
    assert parse_filter(f'displayName {op} "x"') == Compare(p("displayName"), op, "x")  # type: ignore[arg-type]


@pytest.mark.parametrize("spelling", ["EQ", "Eq", "eQ"])
def test_operators_are_case_insensitive(spelling: str) -> None:
    assert parse_filter(f'userName {spelling} "john"') == eq("userName", "john")


def test_pr_and_keywords_are_case_insensitive() -> None:
    assert parse_filter('title PR AND userType Eq "a" OR NOT (x Pr)') == Or(
        And(Present(p("title")), eq("userType", "a")), Not(Present(p("x")))
    )


def test_attribute_names_are_kept_as_written() -> None:
    assert parse_filter('USERNAME eq "a"') == eq("USERNAME", "a")
    assert parse_filter('Name.GivenName eq "a"') == eq("Name", "a", "GivenName")


def test_and_binds_tighter_than_or() -> None:
    a, b, c = eq("a", 1), eq("b", 2), eq("c", 3)
    assert parse_filter("a eq 1 or b eq 2 and c eq 3") == Or(a, And(b, c))
    assert parse_filter("a eq 1 and b eq 2 or c eq 3") == Or(And(a, b), c)


def test_chains_are_left_associative() -> None:
    a, b, c = eq("a", 1), eq("b", 2), eq("c", 3)
    assert parse_filter("a eq 1 and b eq 2 and c eq 3") == And(And(a, b), c)
    assert parse_filter("a eq 1 or b eq 2 or c eq 3") == Or(Or(a, b), c)


def test_parentheses_override_precedence() -> None:
    a, b, c = eq("a", 1), eq("b", 2), eq("c", 3)
    assert parse_filter("(a eq 1 or b eq 2) and c eq 3") == And(Or(a, b), c)
    assert parse_filter("((a eq 1))") == a


def test_not_applies_to_its_group_only() -> None:
    a, b = eq("a", 1), eq("b", 2)
    assert parse_filter("not (a eq 1) and b eq 2") == And(Not(a), b)
    assert parse_filter("not(a eq 1)") == Not(a)
    assert parse_filter("not (not (a eq 1))") == Not(Not(a))


def test_extra_spaces_are_accepted() -> None:
    assert parse_filter('  userName   eq   "a"  and  ( title  pr )  ') == And(eq("userName", "a"), Present(p("title")))


# --- paths ----------------------------------------------------------------------------------


def test_urn_prefixed_paths_split_at_the_last_colon() -> None:
    assert parse_filter(f"{ENTERPRISE}:employeeNumber eq \"701984\"") == Compare(
        p("employeeNumber", urn=ENTERPRISE), "eq", "701984"
    )
    assert parse_filter(f'{ENTERPRISE}:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"') == Compare(
        p("manager", "value", ENTERPRISE), "eq", "26118915-6090-4610-87e4-49d8ca9f808d"
    )
    assert parse_filter(f"{ENTERPRISE}:employeeNumber pr") == Present(p("employeeNumber", urn=ENTERPRISE))


def test_sub_attributes_and_ref() -> None:
    assert parse_filter('name.givenName eq "Barbara"') == eq("name", "Barbara", "givenName")
    assert parse_filter('members.$ref eq "https://x/Users/1"') == eq("members", "https://x/Users/1", "$ref")
    assert parse_filter('members[$ref eq "u"]') == ValuePath(p("members"), eq("$ref", "u"))


def test_names_with_digits_dashes_and_underscores() -> None:
    assert parse_filter("x509Certificates pr") == Present(p("x509Certificates"))
    assert parse_filter('a-b_c eq "v"') == eq("a-b_c", "v")


# --- value paths ----------------------------------------------------------------------------


def test_value_path_with_logic_and_parentheses_inside() -> None:
    text = 'emails[(type eq "work" or type eq "home") and not (value ew "@old.example")]'
    assert parse_filter(text) == ValuePath(
        p("emails"), And(Or(eq("type", "work"), eq("type", "home")), Not(Compare(p("value"), "ew", "@old.example")))
    )


def test_value_path_contoso_example() -> None:
    assert parse_filter('emails[type eq "work" and value co "@contoso"]') == ValuePath(
        p("emails"), And(eq("type", "work"), Compare(p("value"), "co", "@contoso"))
    )


def test_value_path_inside_a_group_and_with_an_extension_attribute() -> None:
    assert parse_filter('(emails[primary eq true])') == ValuePath(p("emails"), eq("primary", True))
    assert parse_filter(f'{ENTERPRISE}:manager[value eq "m"]') == ValuePath(
        p("manager", urn=ENTERPRISE), eq("value", "m")
    )


def test_entra_value_path_with_sub_attribute_is_desugared() -> None:
    # Note: Entra ID documents this (non-RFC) form for matching on a work email.
    assert parse_filter('emails[type eq "work"].value eq "user@contoso.com"') == ValuePath(
        p("emails"), And(eq("type", "work"), eq("value", "user@contoso.com"))
    )
    assert parse_filter('emails[type eq "work"].value pr and active eq true') == And(
        ValuePath(p("emails"), And(eq("type", "work"), Present(p("value")))), eq("active", True)
    )


# --- compValue ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ('"a\\"b"', 'a"b'),
        ('"back\\\\slash"', "back\\slash"),
        ('"a\\/b"', "a/b"),
        ('"\\b\\f\\n\\r\\t"', "\b\f\n\r\t"),
        ('"caf\\u00e9"', "café"),
        ('"\\ud83d\\ude00"', "\U0001F600"),
        ('"über ( ) [ ] and or"', "über ( ) [ ] and or"),
        ('""', ""),
        ("42", 42),
        ("-7", -7),
        ("0", 0),
        ("3.25", 3.25),
        ("-1.5e3", -1500.0),
        ("2E-2", 0.02),
        ("true", True),
        ("False", False),
        ("NULL", None),
        ("TRUE", True),
    ],
)
def test_comp_values(literal: str, value: object) -> None:
    node = parse_filter(f"x eq {literal}")
    assert isinstance(node, Compare)
    assert node.value == value
    assert type(node.value) is type(value)


@pytest.mark.parametrize(
    "word", ["jyoung", "0123", "1.", "NaN", "Infinity", "54D382A4-2050-4C03-94D1-E769F1D15682", "a@b.c"]
)
def test_bare_words_are_refused(word: str) -> None:
    # RFC 7644 §3.4.2.2: compValue is false / null / true / number / string; a bare word (even
    # one Entra ID's older documentation shows unquoted) is refused rather than read as text.
    with pytest.raises(FilterSyntaxError, match=r"straight double quotes") as info:
        parse_filter(f"externalId eq {word}")
    assert info.value.position == len("externalId eq ")


# --- Microsoft Entra ID request shapes --------------------------------------------------------


def test_entra_form_encoded_test_connection_filter() -> None:
    query = "filter=userName+eq+%22cf4d78e8-cc4f-4d5d-b8b9-183561c0104a%22"
    text = parse_qs(query)["filter"][0]
    assert parse_filter(text) == eq("userName", "cf4d78e8-cc4f-4d5d-b8b9-183561c0104a")


def test_entra_group_probe() -> None:
    text = parse_qs("excludedAttributes=members&filter=displayName+eq+%22a1b2%22")["filter"][0]
    assert parse_filter(text) == eq("displayName", "a1b2")


def test_entra_unquoted_external_id_is_refused_and_its_quoted_form_parses() -> None:
    with pytest.raises(FilterSyntaxError):
        parse_filter("externalId eq jyoung")
    assert parse_filter('externalId eq "jyoung"') == eq("externalId", "jyoung")


def test_entra_manager_check_with_and() -> None:
    text = 'id eq "54D382A4-2050-4C03-94D1-E769F1D15682" and manager eq "2819c223-7f76-453a-919d-413861904646"'
    assert parse_filter(text) == And(
        eq("id", "54D382A4-2050-4C03-94D1-E769F1D15682"), eq("manager", "2819c223-7f76-453a-919d-413861904646")
    )


# --- errors ---------------------------------------------------------------------------------


def test_error_names_position_and_expectation() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter('userName eq "a" and title foo "b"')
    assert info.value.position == 26
    assert str(info.value).startswith("unexpected 'foo' at position 26: expected a comparison operator")
    assert "(eq, ne, co, sw, ew, gt, lt, ge, le) or pr" in str(info.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("    ", "empty"),
        ("userName", "expected a comparison operator"),
        ('userName eq "unterminated', "unterminated string starting at position 12"),
        ('userName eq "a\\"', "unterminated string"),
        ("title pr \"x\"", "'pr' takes no value"),
        ("title pr true", "'pr' takes no value"),
        ("userName eq", "expected a value"),
        ("userName eq )", "expected a value"),
        ('userName eq "a" and', "after 'and'"),
        ('userName eq "a" or', "after 'or'"),
        ('and userName eq "a"', "expected an attribute path"),
        ('userName eq "a" and or title pr', "after 'and'"),
        ('not userName eq "a"', "expected '(' after 'not'"),
        ('userName xx "a"', "expected a comparison operator"),
        ('(userName eq "a"', "expected 'and', 'or' or ')' to close '(' at position 0"),
        ('userName eq "a")', "unmatched ')'"),
        ('userName eq "a"]', "unmatched ']'"),
        ('userName eq "a" junk', "expected 'and', 'or' or end of filter"),
        ('userName eq "a" "b"', "expected 'and', 'or' or end of filter"),
        ("userName eq 'single'", "double quotes"),
        ("userName eq \u201csmart\u201d", "double quotes"),
        ('a.b.c eq "x"', "expected an attribute path"),
        ('1abc eq "x"', "expected an attribute path"),
        ('.value eq "x"', "expected an attribute path"),
        ('emails[type eq "work"', "']' to close '['"),
        ('emails[type eq "work")', "']' to close '['"),
        ("emails[]", "expected an attribute path"),
        ("()", "expected an attribute path"),
        ('emails[type[value eq "x"]]', "nested value filter"),
        ('emails[type eq "work" and ims[type eq "x"]]', "nested value filter"),
        ('name.givenName[value eq "x"]', "cannot follow the sub-attribute"),
        ('emails[emails.type eq "work"]', "sub-attribute of 'emails'"),
        (f'emails[{ENTERPRISE}:type eq "work"]', "sub-attribute of 'emails'"),
        ('emails[type eq "work"] .value eq "x"', "expected 'and', 'or' or end of filter"),
        ('emails[type eq "work"].va.lue eq "x"', "sub-attribute name"),
        ('userName eq "\\x"', "Invalid \\escape"),
        ('userName eq "\\u12"', "position 14: Invalid \\uXXXX escape"),
        ('userName eq "\\ud800"', "lone surrogate"),
        ('userName eq "\\udc00x"', "lone surrogate"),
        ('userName eq "a\\u0000b"', "NUL"),
        ("userName eq \"a\x00b\"", "U+0000"),
        ("userName\x00 eq \"a\"", "U+0000 at position 8"),
        ("userName\teq \"a\"", "U+0009"),
        ("userName eq \"a\nb\"", "U+000A"),
        ("userName eq \"a\x7f\"", "U+007F"),
        ("userName eq \"a\x85\"", "U+0085"),
        ("userName eq \"\ud800\"", "lone surrogate U+D800"),
        ("x eq 1e999", "out of range"),
        ("x eq -1e400", "out of range"),
        ("userName eq and", "expected a value"),
        ("emails[type eq \"work\"].value", "expected a comparison operator"),
    ],
)
def test_invalid_filters(text: str, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    assert fragment in str(info.value)


def test_too_long() -> None:
    text = 'userName eq "' + "a" * 5000 + '"'
    with pytest.raises(FilterSyntaxError, match="at most 4096"):
        parse_filter(text)
    assert parse_filter(text, max_length=6000) == eq("userName", "a" * 5000)


@pytest.mark.parametrize("max_depth", [24, 10**9], ids=["default-depth", "huge-depth"])
@pytest.mark.parametrize(
    "text",
    [
        "(" * 100_000,
        "(" * 100_000 + "a pr" + ")" * 100_000,
        "not (" * 100_000 + "a pr" + ")" * 100_000,
        "e[" * 100_000,
        "(e[(" * 30_000,
    ],
    ids=["open-parens", "balanced-parens", "nots", "value-paths", "mixed"],
)
def test_deep_nesting_never_raises_recursion_error(text: str, max_depth: int) -> None:
    with pytest.raises(FilterSyntaxError):
        parse_filter(text, max_depth=max_depth, max_length=len(text))


def nested(n: int) -> str:
    return "(" * n + "a pr" + ")" * n


def test_parentheses_count_towards_depth() -> None:
    assert parse_filter(nested(24)) == Present(p("a"))
    with pytest.raises(FilterSyntaxError, match="nested more than 24 levels deep at position 24"):
        parse_filter(nested(25))
    assert parse_filter(nested(5), max_depth=5) == Present(p("a"))
    with pytest.raises(FilterSyntaxError):
        parse_filter(nested(6), max_depth=5)


def test_not_counts_towards_depth() -> None:
    assert parse_filter("not (" * 3 + "a pr" + ")" * 3, max_depth=3) is not None
    with pytest.raises(FilterSyntaxError, match="nested more than 3 levels"):
        parse_filter("not (" * 4 + "a pr" + ")" * 4, max_depth=3)


def test_value_paths_count_towards_depth() -> None:
    assert parse_filter('emails[type eq "w"]', max_depth=1) is not None
    with pytest.raises(FilterSyntaxError):
        parse_filter('(emails[type eq "w"])', max_depth=1)
    with pytest.raises(FilterSyntaxError):
        parse_filter('emails[type eq "w" and value pr]', max_depth=1)


def test_and_or_chains_count_towards_depth() -> None:
    chain = " or ".join(f"a{i} pr" for i in range(25))  # 24 Or nodes
    assert parse_filter(chain) is not None
    with pytest.raises(FilterSyntaxError, match="nested more than 24 levels"):
        parse_filter(chain + " or z pr")
    with pytest.raises(FilterSyntaxError, match="nested more than 24 levels"):
        parse_filter(" and ".join(["a pr"] * 26))
    with pytest.raises(FilterSyntaxError, match="nested more than 24 levels"):
        parse_filter("(" * 20 + " and ".join(["a pr"] * 6) + ")" * 20)


def test_long_chain_with_large_depth_is_parsed_without_recursion() -> None:
    text = " or ".join(["a pr"] * 5000)
    node = parse_filter(text, max_depth=10_000, max_length=len(text))
    depth = 0
    while isinstance(node, Or):
        node, depth = node.left, depth + 1
    assert depth == 4999


@pytest.mark.parametrize("value", [None, b'userName eq "a"', 42])
def test_non_string_input(value: object) -> None:
    with pytest.raises(FilterSyntaxError, match="must be a string"):
        parse_filter(value)  # type: ignore[arg-type]


_PIECES = [
    "userName", "emails", "name.givenName", f"{ENTERPRISE}:manager.value", "type", ".value", "$ref",
    " eq ", " pr", " co ", " gt ", " and ", " or ", "not ", "not", "(", ")", "[", "]", " ", '"x"', '"',
    '"\\u', "\\", "12", "-1.5e3", "true", "null", "jyoung", "'", ":", ".", "\x00", "\ud800", "é", ",",
]


def test_random_garbage_raises_only_filter_syntax_error() -> None:
    rng = random.Random(7644)
    parsed = 0
    for _ in range(5000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 14)))
        try:
            parse_filter(text, max_depth=4)
            parsed += 1
        except FilterSyntaxError:
            pass
    assert parsed > 0  # the generator does produce some valid filters


def test_random_characters_raise_only_filter_syntax_error() -> None:
    rng = random.Random(3422)
    alphabet = 'abcXYZ019 ()[]"\\.:$-_\'\t\x00\u00e9\ud83d'
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        try:
            parse_filter(text)
        except FilterSyntaxError:
            pass


# --- parse_attr_path ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("userName", p("userName")),
        ("name.givenName", p("name", "givenName")),
        ("meta.lastModified", p("meta", "lastModified")),
        ("members.$ref", p("members", "$ref")),
        (f"{ENTERPRISE}:employeeNumber", p("employeeNumber", urn=ENTERPRISE)),
        (f"{ENTERPRISE}:manager.value", p("manager", "value", ENTERPRISE)),
        (f"{CORE_USER}:name.familyName", p("name", "familyName", CORE_USER)),
        ("  emails  ", p("emails")),
        (ENTERPRISE, p("User", urn="urn:ietf:params:scim:schemas:extension:enterprise:2.0")),
    ],
)
def test_parse_attr_path(text: str, expected: AttrPath) -> None:
    assert parse_attr_path(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "  ", "a.b.c", "name.", ".name", "1abc", "user name", 'emails[type eq "work"]', "emails]", "a,b", '"userName"',
     "name.given\x00Name", "userName eq", "$ref", "x" * 2000],
)
def test_parse_attr_path_errors(text: str) -> None:
    with pytest.raises(FilterSyntaxError):
        parse_attr_path(text)


# --- parse_patch_path -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('emails[type eq "work"].value', PatchPath(p("emails"), eq("type", "work"), "value")),
        (
            'members[value eq "2819c223-7f76-453a-919d-413861904646"]',
            PatchPath(p("members"), eq("value", "2819c223-7f76-453a-919d-413861904646")),
        ),
        ("name.givenName", PatchPath(p("name", "givenName"))),
        (f"{ENTERPRISE}:manager", PatchPath(p("manager", urn=ENTERPRISE))),
        (f"{ENTERPRISE}:manager.value", PatchPath(p("manager", "value", ENTERPRISE))),
        ('addresses[type eq "work"].formatted', PatchPath(p("addresses"), eq("type", "work"), "formatted")),
        (
            'emails[type eq "work" and value ew "example.com"]',
            PatchPath(p("emails"), And(eq("type", "work"), Compare(p("value"), "ew", "example.com"))),
        ),
        ('members[value eq "x"].$ref', PatchPath(p("members"), eq("value", "x"), "$ref")),
        ("active", PatchPath(p("active"))),
    ],
)
def test_parse_patch_path(text: str, expected: PatchPath) -> None:
    assert parse_patch_path(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ('emails[type eq "work"]value', "'.' and a sub-attribute"),
        ('emails[type eq "work"] .value', "'.' and a sub-attribute"),
        ('emails[type eq "work"].value.x', "sub-attribute name"),
        ('emails[type eq "work"].value eq "x"', "end of path"),
        ('name.givenName[value eq "x"]', "cannot follow the sub-attribute"),
        ('emails[type[x eq 1]]', "nested value filter"),
        ('emails[type eq "work"', "']' to close '['"),
        ("emails eq", "'[' (a value filter) or end of path"),
        ("a.b.c", "expected an attribute path"),
        ('emails[type eq "\\ud800"]', "lone surrogate"),
        ("(emails)", "expected an attribute path"),
    ],
)
def test_parse_patch_path_errors(text: str, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_patch_path(text)
    assert fragment in str(info.value)


def test_parse_patch_path_deep_nesting() -> None:
    text = "emails[" + "(" * 100_000
    with pytest.raises(FilterSyntaxError):
        parse_patch_path(text, max_length=len(text), max_depth=10**9)


# --- the shortcut for attr eq "text" -----------------------------------------------------------

@pytest.mark.parametrize("text", [
    'userName eq "a@b.c"', 'externalId EQ "0a21f0f2-8d2a"', ' id eq "42" ', 'title Eq ""', 'displayName eq "Zoë Ünal"',
    'userName  eq  "two  spaces"', 'x-y_z eq "v"', 'userName eq "quote\\"inside"', 'userName eq "tab\tinside"',
    'name.givenName eq "A"', 'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a"', 'userName eq "a" ',
    'not eq "x"', 'userName\teq "a"', 'userName eq "a" and title pr', 'userName eq "\u0101\u0400"',
])
def test_the_shortcut_gives_what_the_parser_gives(text: str) -> None:
    from gateway.scim.filter import parse_filter_fully
    try:
        expected: Any = parse_filter_fully(text)
    except FilterSyntaxError as exc:
        expected = type(exc)
    try:
        got: Any = parse_filter(text)
    except FilterSyntaxError as exc:
        got = type(exc)
    assert got == expected


def test_only_short_patch_paths_are_cached() -> None:
    """Distinct ~1 KB value paths from one client filled the cache's 2,048 places (34 MB a worker:
    a soak review): a path over CACHED_PATH_CHARS is parsed each time, and still parsed right."""
    from gateway.scim.filter import CACHED_PATH_CHARS, _cached_patch_path
    before = _cached_patch_path.cache_info().currsize
    for n in range(50):
        text = "emails[" + " or ".join(f'value eq "{n}-{i}@example.com"' for i in range(12)) + "].type"
        assert len(text) > CACHED_PATH_CHARS
        assert parse_patch_path(text).sub_attr == "type"
    assert _cached_patch_path.cache_info().currsize == before
    assert parse_patch_path("name.givenName") is parse_patch_path("name.givenName")  # short ones are
