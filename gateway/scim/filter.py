"""Parser of SCIM filters and attribute paths (RFC 7644 §3.4.2.2, §3.5.2, §3.10).

``parse_filter`` turns a ``filter=`` query parameter into the AST of :mod:`adapters.query`;
``parse_attr_path`` parses one ``sortBy`` / ``attributes=`` entry and ``parse_patch_path`` a
PATCH ``path`` (RFC 7644 §3.5.2 ``PATH = attrPath / valuePath [subAttr]``).

Names are kept as written: the caller canonicalises them against the schema
(``ResourceType.resolve`` / ``canonical_filter``). A URN-prefixed name is split at its last
colon, so ``urn:...:2.0:User:manager.value`` is ``AttrPath(urn="urn:...:2.0:User",
attr="manager", sub_attr="value")``; a bare schema URN therefore parses as ``AttrPath(urn=
"urn:...:2.0", attr="User")`` and only the schema can tell the two apart.

Every failure, whatever the input, is a :class:`~gateway.scim.errors.FilterSyntaxError` (400
invalidFilter unless its caller reports it otherwise) whose message names the
position (a 0-based character offset) and what was expected. Input is bounded by
``max_length`` and nesting by ``max_depth``; deep input can never raise ``RecursionError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NoReturn

from adapters.query import COMPARE_OPS, And, AttrPath, Compare, CompValue, Filter, Not, Or, Present, ValuePath
from gateway.scim.errors import FilterSyntaxError
from gateway.scim.filter_tokens import (NUMBER, Token, check_text, decode_number, decode_string, describe, is_keyword,
                                        tokenize)

__all__ = ["PatchPath", "parse_attr_path", "parse_filter", "parse_patch_path"]

_OPS_HINT = "a comparison operator (eq, ne, co, sw, ew, gt, lt, ge, le) or pr"
_VALUE_HINT = 'a value ("a string", a number, true, false or null)'
_KEYWORDS = frozenset({"and", "or", "not"})

_NAME = r"[A-Za-z][A-Za-z0-9_-]*"
_SUB_NAME = rf"(?:{_NAME}|\$ref)"
# [URI ":"] ATTRNAME *1subAttr; the URI is greedy, so it ends at the last colon.
_PATH = re.compile(
    rf"(?:(?P<urn>[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9._~%!$&'*+,;=:@/-]*):)?"
    rf"(?P<attr>{_NAME})(?:\.(?P<sub>{_SUB_NAME}))?"
)
_REL_NAME = re.compile(_SUB_NAME)
_LITERALS: dict[str, CompValue] = {"true": True, "false": False, "null": None}


@dataclass(frozen=True)
class PatchPath:
    """A PATCH operation path (RFC 7644 §3.5.2): ``attrPath`` or ``valuePath [subAttr]``.

    ``emails[type eq "work"].value`` is ``PatchPath(AttrPath("emails"), Compare(AttrPath("type"),
    "eq", "work"), "value")``; paths inside ``value_filter`` are relative to one element.
    """

    path: AttrPath
    value_filter: Filter | None = None
    sub_attr: str | None = None


class _Parser:
    """Recursive descent over the token list; ``level`` counts the open groups."""

    def __init__(self, text: str, max_depth: int, what: str) -> None:
        self.scanner = tokenize(text)
        self.tokens: list[Token] = [next(self.scanner)]  # the tokens read so far
        self.i = 0
        self.max_depth = max_depth
        self.level = 0
        self.what = what
        self.after_pr: int | None = None  # end offset of the last 'pr', for a better message

    # --- token helpers ----------------------------------------------------------------------

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
            if self.i == len(self.tokens):
                self.tokens.append(next(self.scanner))
        return tok

    def fail(self, tok: Token, expected: str) -> NoReturn:
        found = f"end of {self.what}" if tok.kind == "end" else describe(tok)
        raise FilterSyntaxError(f"unexpected {found} at position {tok.pos}: expected {expected}", tok.pos)

    def fail_after_expression(self, tok: Token, expected: str) -> NoReturn:
        """The token after a complete expression is neither a logical operator nor a closer."""
        if self.after_pr is not None and tok.kind in ("word", "string") and not is_keyword(tok, *_KEYWORDS):
            previous = self.tokens[self.i - 1] if self.i else None
            if previous is not None and previous.end == self.after_pr:
                raise FilterSyntaxError(
                    f"unexpected {describe(tok)} at position {tok.pos}: 'pr' takes no value; expected {expected}",
                    tok.pos,
                )
        self.fail(tok, expected)

    def enter(self, tok: Token) -> None:
        self.level += 1
        if self.level > self.max_depth:
            self.too_deep(tok.pos)

    def check_depth(self, depth: int, pos: int) -> None:
        if depth > self.max_depth:
            self.too_deep(pos)

    def too_deep(self, pos: int) -> NoReturn:
        raise FilterSyntaxError(
            f"{self.what} nested more than {self.max_depth} levels deep at position {pos} (parentheses, 'not', "
            "value paths and each 'and'/'or' of a chain add a level)",
            pos,
        )

    def close(self, kind: str, opener: Token) -> Token:
        tok = self.peek()
        if tok.kind == kind:
            self.level -= 1
            return self.take()
        self.fail_after_expression(tok, f"'and', 'or' or '{kind}' to close '{opener.text}' at position {opener.pos}")

    # --- grammar ----------------------------------------------------------------------------

    def or_expr(self, scope: AttrPath | None) -> tuple[Filter, int]:
        """``logExp`` with ``or``: the loosest binding (RFC 7644 §3.4.2.2 order of operations)."""
        node, depth = self.and_expr(scope)
        while is_keyword(self.peek(), "or"):
            tok = self.take()
            right, right_depth = self.and_expr(scope)
            depth = max(depth, right_depth) + 1
            self.check_depth(depth, tok.pos)
            node = Or(node, right)
        return node, depth

    def and_expr(self, scope: AttrPath | None) -> tuple[Filter, int]:
        """``logExp`` with ``and``, which binds tighter than ``or``."""
        node, depth = self.unary(scope)
        while is_keyword(self.peek(), "and"):
            tok = self.take()
            right, right_depth = self.unary(scope)
            depth = max(depth, right_depth) + 1
            self.check_depth(depth, tok.pos)
            node = And(node, right)
        return node, depth

    def unary(self, scope: AttrPath | None) -> tuple[Filter, int]:
        """``not ( filter )``, ``( filter )`` or an attribute expression."""
        first = self.peek()
        negate = is_keyword(first, "not")
        if negate:
            self.take()
            if self.peek().kind != "(":
                self.fail(self.peek(), "'(' after 'not' (RFC 7644 writes not (filter))")
        opener = self.peek()
        if opener.kind != "(":
            return self.attr_exp(scope)
        self.take()
        self.enter(opener)
        inner, depth = self.or_expr(scope)
        self.close(")", opener)
        self.check_depth(depth + 1, first.pos)
        return (Not(inner) if negate else inner), depth + 1

    def attr_exp(self, scope: AttrPath | None) -> tuple[Filter, int]:
        """``attrPath pr``, ``attrPath compareOp compValue`` or (outside a value filter) a ``valuePath``."""
        previous = self.tokens[self.i - 1] if self.i else None
        tok = self.take()
        if tok.kind != "word" or is_keyword(tok, *_KEYWORDS):
            context = f" after '{previous.text}'" if previous is not None else ""
            self.fail(tok, f"an attribute path (such as userName or name.givenName), '(' or 'not'{context}")
        path = self.relative_path(tok, scope) if scope is not None else self.path(tok)
        if self.peek().kind != "[":
            return self.comparison(path, tok), 0
        if scope is not None:
            raise FilterSyntaxError(
                f"nested value filter at position {self.peek().pos}: value filters cannot be nested inside "
                f"'{scope}[...]'",
                self.peek().pos,
            )
        value_filter, depth, close = self.value_filter(path, tok)
        after = self.peek()
        if after.kind == "word" and after.pos == close.end and after.text.startswith("."):
            # Note: Entra ID documents `emails[type eq "work"].value eq "x"` as a filter for
            # matching users (RFC 7644 allows valuePath subAttr only in PATCH paths). It means
            # "some element with type work has value x", so it becomes emails[type eq "work" and value eq "x"].
            self.take()
            sub = self.sub_attr_name(after, path)
            leaf = self.comparison(AttrPath(sub), after)
            depth += 1
            self.check_depth(depth + 1, after.pos)
            return ValuePath(path, And(value_filter, leaf)), depth + 1
        self.check_depth(depth + 1, tok.pos)
        return ValuePath(path, value_filter), depth + 1

    def value_filter(self, path: AttrPath, path_tok: Token) -> tuple[Filter, int, Token]:
        """``attrPath "[" valFilter "]"``: returns the element filter, its depth and the ']' token."""
        if path.sub_attr is not None:
            raise FilterSyntaxError(
                f"a value filter cannot follow the sub-attribute '{path}' at position {path_tok.pos}: "
                "it applies to a multi-valued attribute such as emails",
                path_tok.pos,
            )
        opener = self.take()
        self.enter(opener)
        inner, depth = self.or_expr(path)
        close = self.close("]", opener)
        return inner, depth, close

    def comparison(self, path: AttrPath, path_tok: Token) -> Filter:
        op_tok = self.take()
        op = op_tok.text.lower() if op_tok.kind == "word" else ""
        if op == "pr":
            self.after_pr = op_tok.end
            return Present(path)
        if op not in COMPARE_OPS:
            self.fail(op_tok, f"{_OPS_HINT} after '{path_tok.text}'")
        value_tok = self.take()
        return Compare(path, op, self.value(value_tok, op))  # type: ignore[arg-type]

    def value(self, tok: Token, op: str) -> CompValue:
        """``compValue`` (RFC 7644 §3.4.2.2): a JSON string, number, or ``true``/``false``/``null``
        (any case). Any other bare word is refused, so a typo such as ``tru`` can never match as
        text. Note: Entra ID's older documentation shows unquoted values (``externalId eq
        jyoung``); Entra's provisioning quotes them, and such a filter is refused with a hint.
        """
        if tok.kind == "string":
            return decode_string(tok)
        if tok.kind != "word" or is_keyword(tok, *_KEYWORDS):
            self.fail(tok, f"{_VALUE_HINT} after '{op}'")
        lowered = tok.text.lower()
        if lowered in _LITERALS:
            return _LITERALS[lowered]
        if NUMBER.fullmatch(tok.text):
            return decode_number(tok)
        raise FilterSyntaxError(
            f"unexpected {describe(tok)} at position {tok.pos}: {_VALUE_HINT} must follow '{op}'; "
            'string values are enclosed in straight double quotes, e.g. "bjensen"',
            tok.pos,
        )

    # --- paths ------------------------------------------------------------------------------

    def path(self, tok: Token) -> AttrPath:
        """A full ``attrPath``: ``[URI ":"] ATTRNAME ["." subAttr]``."""
        match = _PATH.fullmatch(tok.text)
        if match is None:
            self.fail(tok, "an attribute path such as userName, name.givenName or urn:...:User:employeeNumber")
        return AttrPath(attr=match["attr"], sub_attr=match["sub"], urn=match["urn"])

    def relative_path(self, tok: Token, scope: AttrPath) -> AttrPath:
        """A path inside ``scope[...]``: one sub-attribute name of the element (RFC 7644 §3.4.2.2)."""
        if _REL_NAME.fullmatch(tok.text) is None:
            self.fail(tok, f"the name of a sub-attribute of '{scope}' (such as type or value) inside its value filter")
        return AttrPath(tok.text)

    def sub_attr_name(self, tok: Token, parent: AttrPath) -> str:
        name = tok.text[1:]
        if _REL_NAME.fullmatch(name) is None:
            self.fail(tok, f"'.' and a sub-attribute name of '{parent}' after its value filter")
        return name


#: The longest filter or PATCH path (characters) and its deepest nesting (parentheses, ``not``,
#: value filters) the parser reads: README's limits table (a ``400 invalidFilter`` past either).
MAX_FILTER_CHARS = 4096
MAX_FILTER_DEPTH = 24


def _parser(text: object, *, max_length: int, max_depth: int, what: str) -> _Parser:
    parser = _Parser(check_text(text, max_length, what), max_depth, what)
    if parser.peek().kind == "end":
        raise FilterSyntaxError(f"the {what} is empty", 0)
    return parser


#: ``attr eq "text"`` with a plain attribute name and a string without escapes: the shape of
#: nearly every filter Entra ID sends (``userName eq "..."``, ``externalId eq "..."``), answered
#: without the tokenizer (the parser gives the same node; tests/unit/test_filter.py compares them).
_SIMPLE_EQ = re.compile(r' *([A-Za-z][A-Za-z0-9_-]*) +[eE][qQ] +"([^"\\\x00-\x1f\x7f-\x9f\ud800-\udfff]*)" *')
_NOT_NAMES = frozenset({"and", "or", "not"})


def parse_filter(text: str, *, max_depth: int = MAX_FILTER_DEPTH, max_length: int = MAX_FILTER_CHARS) -> Filter:
    """Parse a SCIM filter (RFC 7644 §3.4.2.2) into the AST of :mod:`adapters.query`.

    Operators and keywords are case-insensitive; ``and`` binds tighter than ``or``; ``and``/``or``
    chains are left-associative. ``max_depth`` bounds the nesting: each parenthesis group,
    ``not``, value path and ``and``/``or`` node adds one level (a flat chain of n comparisons
    is n-1 levels deep). Raises :class:`FilterSyntaxError` for any invalid input.
    """
    if isinstance(text, str) and len(text) <= max_length:
        simple = _SIMPLE_EQ.fullmatch(text)
        if simple is not None and simple[1].lower() not in _NOT_NAMES:
            return Compare(AttrPath(simple[1]), "eq", simple[2])
    return parse_filter_fully(text, max_depth=max_depth, max_length=max_length)


def parse_filter_fully(text: str, *, max_depth: int = MAX_FILTER_DEPTH, max_length: int = MAX_FILTER_CHARS) -> Filter:
    """:func:`parse_filter` without its shortcut for ``attr eq "text"``."""
    parser = _parser(text, max_length=max_length, max_depth=max_depth, what="filter")
    try:
        node, _depth = parser.or_expr(None)
        tok = parser.peek()
        if tok.kind in (")", "]"):
            opener = "(" if tok.kind == ")" else "["
            raise FilterSyntaxError(f"unmatched '{tok.kind}' at position {tok.pos}: no '{opener}' is open", tok.pos)
        if tok.kind != "end":
            parser.fail_after_expression(tok, "'and', 'or' or end of filter")
    except RecursionError:
        raise FilterSyntaxError("filter nested too deeply to parse") from None
    return node


def parse_attr_path(text: str, *, max_length: int = 1024) -> AttrPath:
    """Parse one attribute path (``sortBy``, an ``attributes=`` entry; RFC 7644 §3.10).

    Surrounding spaces are ignored. Raises :class:`FilterSyntaxError`.
    """
    parser = _parser(text, max_length=max_length, max_depth=0, what="attribute path")
    first = parser.take()
    if first.kind != "word":
        parser.fail(first, "an attribute path such as userName or name.givenName")
    path = parser.path(first)
    tok = parser.peek()
    if tok.kind == "[":
        raise FilterSyntaxError(
            f"a value filter at position {tok.pos} is not allowed here: expected a plain attribute path", tok.pos
        )
    if tok.kind != "end":
        parser.fail(tok, "end of attribute path")
    return path


#: PATCH paths at most this long are cached (Entra ID's are under 80 characters); a longer one is
#: parsed each time, so that one client's distinct long paths (value filters of ~1 KB) cannot fill
#: the cache's 2,048 places with their trees: 34 MB a worker (a soak review).
CACHED_PATH_CHARS = 256


def parse_patch_path(text: str, *, max_depth: int = MAX_FILTER_DEPTH, max_length: int = MAX_FILTER_CHARS) -> PatchPath:
    """Parse a PATCH ``path`` (RFC 7644 §3.5.2): ``attrPath`` or ``valuePath [subAttr]``.

    ``members[value eq "x"]``, ``emails[type eq "work"].value``, ``name.givenName`` and
    ``urn:...:enterprise:2.0:User:manager`` are all valid. Raises :class:`FilterSyntaxError`.
    Short paths' results are cached (the AST is immutable): Note: Entra ID sends the same few
    paths in every PATCH of a provisioning cycle.
    """
    if len(text) <= CACHED_PATH_CHARS:
        return _cached_patch_path(text, max_depth, max_length)
    return _parse_patch_path(text, max_depth, max_length)


@lru_cache(maxsize=2048)
def _cached_patch_path(text: str, max_depth: int, max_length: int) -> PatchPath:
    return _parse_patch_path(text, max_depth, max_length)


def _parse_patch_path(text: str, max_depth: int, max_length: int) -> PatchPath:
    parser = _parser(text, max_length=max_length, max_depth=max_depth, what="path")
    try:
        first = parser.take()
        if first.kind != "word":
            parser.fail(first, "an attribute path such as name.givenName or emails[type eq \"work\"]")
        path = parser.path(first)
        tok = parser.peek()
        if tok.kind == "end":
            return PatchPath(path)
        if tok.kind != "[":
            parser.fail(tok, "'[' (a value filter) or end of path")
        value_filter, _depth, close = parser.value_filter(path, first)
        sub_attr = None
        after = parser.peek()
        if after.kind == "word" and after.pos == close.end and after.text.startswith("."):
            parser.take()
            sub_attr = parser.sub_attr_name(after, path)
        tok = parser.peek()
        if tok.kind != "end":
            parser.fail(tok, "'.' and a sub-attribute name directly after ']', or end of path")
    except RecursionError:
        raise FilterSyntaxError("path nested too deeply to parse") from None
    return PatchPath(path, value_filter, sub_attr)
