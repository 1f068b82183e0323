"""The process's log handler, and the redaction of credentials from every record it writes.

No Secret Token may reach a log (issue 13 §3). The gateway's own lines never include one, but
other code logs what it was sent: Tornado's ``tornado.general`` logger writes a malformed header
whole ("Invalid header value 'Bearer eyJ...\\x01...'"), at INFO. A filter on the handler, which
every logger's records reach, rewrites each record's message (and traceback) before it is
formatted: anything after ``Authorization``/``Cookie`` to the end of the line, anything after
``Bearer``/``Basic`` up to a quote or the end of the line, anything shaped like a JWT, and the
password of a URL (``postgres://user:secret@host``) or of a ``password=`` setting (a libpq DSN),
which an adapter's exception may carry into a 503's log line.
"""

from __future__ import annotations

import logging
import re
import sys
import time

import orjson

#: The log line of ``serve``: time, level, logger, message (nothing else is collected).
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

REDACTED = "[redacted]"
_SECRETS = re.compile(
    r"(?i)"
    r"(?P<header>(?:proxy-)?authorization|cookie|set-cookie)(?P<sep>['\"]?\s*[:=,]\s*)[^\r\n]*"
    r"|(?P<scheme>\bbearer)(?P<gap>(?:\s|\\[xu][0-9a-f]{2,4}|[:=])+)[^\r\n'\"]*"
    r"|(?P<basic>\bbasic)\s+[A-Za-z0-9+/=]{8,}"
    r"|eyJ[A-Za-z0-9_\-]{4,}(?:\.[A-Za-z0-9_\-]*)*"
    r"|(?P<userinfo>\b[a-z][a-z0-9+.\-]*://[^/\s:@'\"]*:)[^@\s/'\"]+(?=@)"
    r"|(?P<setting>\bpass(?:word|wd)?['\"]?\s*[=:]\s*)(?:'[^']*'|\"[^\"]*\"|[^\s'\",;&]+)"
)
#: A record can hold a secret only if its case-folded text holds one of these (checked first:
#: five substring tests take 0.3 µs of an access line, a case-insensitive regex search 3 µs).
_HINTS = ("authoriz", "cookie", "bearer", "basic", "eyj", "://", "pass")


def redact(text: str) -> str:
    """``text`` with every credential replaced by ``[redacted]``."""
    folded = text.casefold()
    if not any(hint in folded for hint in _HINTS):
        return text
    return _SECRETS.sub(_replacement, text)


def _replacement(match: re.Match[str]) -> str:
    if match.group("header"):
        return f"{match.group('header')}{match.group('sep')}{REDACTED}"
    if match.group("scheme") or match.group("basic"):
        return f"{match.group('scheme') or match.group('basic')} {REDACTED}"
    if match.group("userinfo") or match.group("setting"):
        return f"{match.group('userinfo') or match.group('setting')}{REDACTED}"
    return REDACTED


#: How much of a request's method is shown, in a log line or an error's detail (a method of a
#: megabyte was one access line of a megabyte: a fuzzing review).
SHOWN_METHOD_CHARS = 20


def shown_method(method: str | None) -> str:
    """The request's method as a log line or an error's detail shows it: cut, ``-`` if none."""
    return (method or "-")[:SHOWN_METHOD_CHARS]


def loggable_path(path: str) -> str:
    """``path`` with each segment that holds an email address (``@``, or ``%40`` encoded) as
    ``[redacted]``: an id is not personal data, but a client that puts a userName where the id
    goes (``GET /Users/priya@example.com``) would write one into every access line."""
    if "@" not in path and "%40" not in path:
        return path
    return "/".join("[redacted]" if "@" in part or "%40" in part else part for part in path.split("/"))


class LineFormatter(logging.Formatter):
    """:data:`LOG_FORMAT`, with the time's seconds formatted once per second (every request
    writes a line; ``time.strftime`` per record was a tenth of the line's cost, timeit)."""

    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if self._second[0] != second:
            self._second = (second, time.strftime(self.default_time_format, self.converter(record.created)))
        return self.default_msec_format % (self._second[1], record.msecs)


#: Tornado's line for a request its parser refused; its reason may quote what the client sent.
_MALFORMED = "Malformed HTTP message from "
#: The words of such a reason before the value it quotes ("Invalid header value", "Only integer
#: Content-Length is allowed").
_REASON_WORDS = re.compile(r"[A-Za-z][A-Za-z \-]{0,79}")
#: The longest message a library's log line keeps (a header of 60,000 characters was one INFO line).
MAX_MESSAGE_CHARS = 1000


def _without_value_sent(message: str) -> str:
    """Tornado's refusal without the value it quotes: ``Invalid header value '<token>\\x01...'``
    kept whatever followed the control character, a whole Secret Token sent without ``Bearer``
    (Okta's bare form) rebuilt from its pieces (a security review). The reason's words stay."""
    head, _, reason = message.partition(": ")
    words = _REASON_WORDS.match(reason)
    kept = words.group(0).rstrip() if words else ""
    return message if kept == reason else f"{head}: {kept or 'unreadable'} (the value sent is not logged)"


def _bounded(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return f"{message[:MAX_MESSAGE_CHARS]}... ({len(message) - MAX_MESSAGE_CHARS} more characters not logged)"


class RedactingFilter(logging.Filter):
    """Rewrites each record's message and traceback with :func:`redact` (it never drops one);
    and a failed TLS handshake or a TLS error on a connection (a garbage record, a renegotiation
    refused), which Tornado logs at WARNING, is INFO: any client can cause one (plain HTTP sent to
    the HTTPS port, a scanner), it is no fault of the gateway's."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.name == "tornado.general" and message.startswith(_MALFORMED):
            message = _without_value_sent(message)
        message = redact(message)  # (then cut: a secret cut in two is no longer recognised)
        if not record.name.startswith("vizmo_scim"):  # (the gateway's own are bounded where written; the
            message = _bounded(message)                # loop watch's stack dump is long by nature)
        record.msg, record.args = message, ()  # formatted once, here
        if record.levelno == logging.WARNING and record.name == "tornado.general" \
                and (record.msg.startswith("SSL Error on ") or "[SSL: " in record.msg):
            record.levelno, record.levelname = logging.INFO, "INFO"
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """``--log-format json``: one JSON object per line for log collectors: ``time`` (UTC,
    ISO 8601 with ms), ``level``, ``logger``, ``message``, the access line's fields
    (``request_id``, ``location``, ``method``, ``path``, ``status``, ``duration_ms``, and
    ``scim_type`` for an error that has one) and the trace of an error as ``exception``. The
    message was redacted by :class:`RedactingFilter`."""

    _second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if self._second[0] != second:
            self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)))
        line: dict[str, object] = {"time": f"{self._second[1]}.{int(record.msecs):03d}Z",
                                   "level": record.levelname, "logger": record.name,
                                   "message": record.getMessage()}
        fields = getattr(record, "request", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            line["exception"] = record.exc_text
        return orjson.dumps(line).decode("utf-8")


def configure_logging(level: int = logging.INFO, log_format: str = "text") -> logging.Handler:
    """One stderr handler on the root logger, redacting, for every logger of the process;
    ``log_format`` ``text`` (a terminal's line) or ``json`` (:class:`JsonFormatter`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else LineFormatter(LOG_FORMAT))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # aiosqlite logs every statement with its bound values at DEBUG: filter values, names, emails
    # (a security review); the gateway's own DEBUG lines never carry them.
    logging.getLogger("aiosqlite").setLevel(max(level, logging.INFO))
    # The Logging HOWTO's "Optimization": no format here shows the caller's file and line (a walk
    # up the stack per record), the thread or the process, so records need not look them up (an
    # access line per request cost about 10 % of a light request's CPU; these take a quarter off).
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    return handler
