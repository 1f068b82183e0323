"""The configuration file: TOML in UTF-8, checked against ``schemas/config.schema.json``, and
the one error every refused setting raises (:class:`ConfigError`), whose message names the
setting and never shows a value that may be a secret."""

from __future__ import annotations

import codecs
import json
import re
import tomllib
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators

from gateway.logs import redact


class ConfigError(ValueError):
    """The configuration is invalid; the message names the setting."""


#: JSON Schema's ``integer`` holds 2048.0 (a number with a zero fraction); a whole-number setting is
#: written in digits, so TOML's float is refused (2048.0 was taken, and shown in 413 details as
#: "2048.0 bytes": a configuration review).
StrictValidator = validators.extend(Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)))


@cache
def _file_validator() -> Draft202012Validator:
    schema = json.loads(files("schemas").joinpath("config.schema.json").read_text(encoding="utf-8"))
    return StrictValidator(schema)


#: Setting names whose values may be secrets (a signing key or a metrics token typed where the
#: variable's name goes, a DSN): a refusal does not show the value.
SECRET_NAME = re.compile(r"(?i)dsn|pass|secret|token|key")


def _describe(error: Any) -> str:
    """One schema error: where, and what (a pattern's ``description`` rather than the pattern),
    without the value of a setting that may hold a secret (``signing_key_env`` holding the key
    itself was printed whole: a secrets review), any other value redacted as log lines are."""
    where = ".".join(str(p) for p in error.absolute_path) or "the file"
    message = redact(error.message)
    secret = bool(error.absolute_path) and SECRET_NAME.search(str(error.absolute_path[-1])) is not None \
        and error.validator not in ("additionalProperties", "required")  # (these name settings, not values)
    if error.validator == "pattern" and isinstance(error.schema.get("description"), str):
        shown = "the value (not shown: it may be a secret)" if secret else redact(repr(str(error.instance)))[:100]
        message = f"{shown} must be {error.schema['description']}"
    elif secret:
        message = f"the value (not shown: it may be a secret) does not meet its rule: {error.validator}"
    return f"{where}: {message if len(message) <= 300 else message[:300] + '...'}"


def read_file(path: Path) -> dict[str, Any]:
    """Parse and validate a TOML configuration file (raises :class:`ConfigError`)."""
    if path.exists() and not path.is_file() and not path.is_dir():  # a FIFO with no writer: read() waited forever
        raise ConfigError(f"cannot read {path}: not a regular file (a pipe or a device); name the configuration file")
    try:
        raw = path.read_bytes()
        bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0  # Windows Notepad's; no TOML
        data = tomllib.loads(raw[bom:].decode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start + bom} cannot be decoded); a configuration "
                          "file is TOML written in UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: arrays or tables nested too deeply to read") from None
    try:
        errors = sorted(_file_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    except RecursionError:
        raise ConfigError(f"{path}: arrays or tables nested too deeply to check") from None
    if errors:
        raise ConfigError(f"{path}: " + "; ".join(_describe(e) for e in errors[:5]))
    return data
