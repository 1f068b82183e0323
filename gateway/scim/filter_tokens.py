"""The tokens of SCIM filter and attribute-path text (RFC 7644 §3.4.2.2): the lexical half of
:mod:`gateway.scim.filter`.

Words, JSON strings (every JSON escape, RFC 8259 §7), parentheses and brackets, read lazily so
that a parse failing early never scans the rest. C0/C1 control characters and lone surrogates are
refused anywhere in the text, and every failure is a
:class:`~gateway.scim.errors.FilterSyntaxError` naming its position.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.scim.errors import FilterSyntaxError
from gateway.scim.json_type import json_type

__all__ = ["NUMBER", "Token", "check_text", "decode_number", "decode_string", "describe", "is_keyword", "tokenize"]

# C0/C1 control characters (NUL included) and lone surrogates are never valid anywhere.
_BAD_CHAR = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_TOKEN = re.compile(
    r'(?P<ws> +)|(?P<punct>[()\[\]])|(?P<string>"(?:[^"\\]++|\\.)*+")|(?P<quote>")|(?P<word>[^ ()\[\]"]+)'
)
NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``kind`` is ``word``, ``string``, a bracket or ``end``; ``pos``/``end`` are offsets."""

    kind: str  # "word", "string", "(", ")", "[", "]", "end"
    text: str
    pos: int
    end: int


def check_text(text: object, max_length: int, what: str) -> str:
    """``text`` if it is a string of at most ``max_length`` characters holding no control
    character or lone surrogate; ``what`` names it in the error."""
    if not isinstance(text, str):
        raise FilterSyntaxError(f"the {what} must be a string, not {json_type(text)}")
    if len(text) > max_length:
        raise FilterSyntaxError(f"the {what} is {len(text)} characters long; at most {max_length} are allowed")
    bad = _BAD_CHAR.search(text)
    if bad is not None:
        char = ord(bad.group())
        kind = "lone surrogate" if 0xD800 <= char <= 0xDFFF else "control character"
        raise FilterSyntaxError(
            f"{kind} U+{char:04X} at position {bad.start()} is not allowed in a {what}", bad.start()
        )
    return text


def tokenize(text: str) -> Iterator[Token]:
    """The tokens of ``text``, lazily (a parse that fails early does not scan the rest)."""
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        assert match is not None  # the alternatives cover every character
        kind = match.lastgroup
        if kind == "quote":
            raise FilterSyntaxError(f"unterminated string starting at position {pos}", pos)
        if kind != "ws":
            tok_kind = match.group() if kind == "punct" else str(kind)
            yield Token(tok_kind, match.group(), pos, match.end())
        pos = match.end()
    while True:
        yield Token("end", "", len(text), len(text))


def describe(tok: Token) -> str:
    """A token quoted for an error message (at most 40 characters of it)."""
    text = tok.text if len(tok.text) <= 40 else tok.text[:40] + "..."
    return f"'{text}'"


def is_keyword(tok: Token, *words: str) -> bool:
    """Whether ``tok`` is one of the (lower-case) ``words``, in any case."""
    return tok.kind == "word" and tok.text.lower() in words


def decode_string(tok: Token) -> str:
    """A JSON string token decoded with every JSON escape (RFC 7159 §7)."""
    try:
        value = json.loads(tok.text)
    except ValueError as exc:
        at = tok.pos + getattr(exc, "pos", 0)
        reason = getattr(exc, "msg", "invalid JSON string")
        raise FilterSyntaxError(f"invalid string at position {at}: {reason}", at) from None
    if _SURROGATE.search(value):
        raise FilterSyntaxError(f"invalid string at position {tok.pos}: \\u escape of a lone surrogate", tok.pos)
    if "\x00" in value:
        raise FilterSyntaxError(f"invalid string at position {tok.pos}: NUL (\\u0000) is not allowed", tok.pos)
    return str(value)


def decode_number(tok: Token) -> int | float:
    """A JSON number token as an int or a finite float."""
    try:
        value = json.loads(tok.text)
    except ValueError:
        value = math.inf
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterSyntaxError(f"number {describe(tok)} at position {tok.pos} is out of range", tok.pos)
    return int(value) if isinstance(value, int) else float(value)
