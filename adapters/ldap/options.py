"""The LDAP adapter's options (the ``[adapter.options]`` section of the configuration).

The bind password comes from an environment variable (``bind_password_env``) or a file
(``bind_password_file``), never from the configuration itself (an inline ``bind_password`` is
rejected by the schema), and it is never logged or put into an error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.errors import Unavailable
from adapters.ldap.attributes import ATTRIBUTE_MAP_SCHEMA, AttributeMap, OptionsError

DELETE_POLICIES = ("delete", "disable")

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "pattern": r"^ldaps?://[^/?#\s]+/?$",
                "description": "ldap://host:port or ldaps://host:port"},
        "base_dn": {"type": "string", "minLength": 1,
                    "description": "DN holding one organisational unit per location: ou=<location id>,<base_dn>"},
        "bind_dn": {"type": "string", "minLength": 1, "description": "DN the gateway binds as"},
        "bind_password_env": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
                              "description": "environment variable holding the bind password"},
        "bind_password_file": {"type": "string", "minLength": 1, "format": "path",
                               "description": "file holding the bind password (one line)"},
        "start_tls": {"type": "boolean", "default": False, "description": "StartTLS on an ldap:// URL"},
        "ca_file": {"type": "string", "minLength": 1, "format": "path",
                    "description": "PEM CA bundle to verify the server (default: the system's)"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 300, "default": 10,
                    "description": "seconds allowed to connect and for each operation"},
        "pool_size": {"type": "integer", "minimum": 1, "maximum": 32, "default": 4,
                      "description": "connections (and worker threads) to the server"},
        "attribute_map": ATTRIBUTE_MAP_SCHEMA,
        "delete_policy": {"enum": list(DELETE_POLICIES), "default": "delete",
                          "description": "'delete' removes the entry; 'disable' keeps it as a disabled "
                                         "tombstone under ou=deprovisioned,ou=<location>,<base_dn>"},
        "max_scan": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 20_000,
                     "description": "most entries one list request may read (LDAP cannot count)"},
    },
    "required": ["url", "base_dn", "bind_dn"],
    "oneOf": [{"required": ["bind_password_env"], "not": {"required": ["bind_password_file"]}},
              {"required": ["bind_password_file"], "not": {"required": ["bind_password_env"]}}],
    "description": "set bind_password_file or bind_password_env, one of them",
    "additionalProperties": False,
}


@dataclass(frozen=True)
class LdapSettings:
    """Validated options; ``attributes`` is the resolved attribute map."""

    url: str
    base_dn: str
    bind_dn: str
    bind_password_env: str | None = None
    bind_password_file: Path | None = None
    start_tls: bool = False
    ca_file: Path | None = None
    timeout: float = 10.0
    pool_size: int = 4
    delete_policy: str = "delete"
    max_scan: int = 20_000
    attributes: AttributeMap = field(default_factory=AttributeMap)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "LdapSettings":
        """Build from options already valid against :data:`OPTIONS_SCHEMA`; raises
        :class:`OptionsError` (a ``ValueError``) for what the schema cannot check."""
        if ("bind_password_env" in options) == ("bind_password_file" in options):
            raise OptionsError("set exactly one of bind_password_env and bind_password_file")
        policy = options.get("delete_policy", "delete")
        if policy not in DELETE_POLICIES:
            raise OptionsError(f"delete_policy must be one of {', '.join(DELETE_POLICIES)}")
        password_file = options.get("bind_password_file")
        ca_file = options.get("ca_file")
        return cls(
            url=options["url"].rstrip("/"), base_dn=options["base_dn"], bind_dn=options["bind_dn"],
            bind_password_env=options.get("bind_password_env"),
            bind_password_file=Path(password_file) if password_file else None,
            start_tls=bool(options.get("start_tls", False)), ca_file=Path(ca_file) if ca_file else None,
            timeout=float(options.get("timeout", 10)), pool_size=int(options.get("pool_size", 4)),
            delete_policy=policy, max_scan=int(options.get("max_scan", 20_000)),
            attributes=AttributeMap(options.get("attribute_map") or {}),
        )

    def read_password(self) -> str:
        """The bind password from its environment variable or file (a trailing line end removed)."""
        if self.bind_password_env is not None:  # a line end trimmed as from the file (a secret store's)
            value = (os.environ.get(self.bind_password_env) or "").rstrip("\r\n")
            if not value:
                raise Unavailable(f"the environment variable {self.bind_password_env} "
                                         "holding the LDAP bind password is not set")
            return value
        assert self.bind_password_file is not None
        try:
            value = self.bind_password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise Unavailable(f"cannot read the LDAP bind password file that bind_password_file names (not repeated "
                              f"here: a password typed in its place would be): {exc.strerror}") from None
        except UnicodeDecodeError:
            raise Unavailable(f"the LDAP bind password file {self.bind_password_file} is not UTF-8 text") from None
        if not value:
            raise Unavailable(f"the LDAP bind password file {self.bind_password_file} is empty")
        return value
