"""The gateway's settings: defaults < environment (``VIZMO_SCIM_*``) < command-line flags.

Secrets never live here: the signing key is a file in the data directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path("vizmo-scim-data")
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class GatewayConfig:
    """Frozen settings of one gateway process."""

    data_dir: Path = DEFAULT_DATA_DIR
    directory: Path | None = None        # the directory database; default data_dir/directory.db
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str | None = None          # public origin for meta.location, e.g. https://scim.example.com
    max_body_bytes: int = MAX_BODY_BYTES  # RFC 7644 §3.12 413 above this
    max_results: int = 200               # ServiceProviderConfig filter.maxResults

    @property
    def directory_path(self) -> Path:
        return self.directory if self.directory is not None else self.data_dir / "directory.db"


def from_environment(**overrides: object) -> GatewayConfig:
    """Defaults, then ``VIZMO_SCIM_DATA_DIR``/``_DIRECTORY``/``_HOST``/``_PORT``/``_BASE_URL``,
    then explicit overrides (command-line flags; ``None`` means not given)."""
    env = os.environ
    values: dict[str, object] = {}
    if env.get("VIZMO_SCIM_DATA_DIR"):
        values["data_dir"] = Path(env["VIZMO_SCIM_DATA_DIR"])
    if env.get("VIZMO_SCIM_DIRECTORY"):
        values["directory"] = Path(env["VIZMO_SCIM_DIRECTORY"])
    if env.get("VIZMO_SCIM_HOST"):
        values["host"] = env["VIZMO_SCIM_HOST"]
    if env.get("VIZMO_SCIM_PORT"):
        values["port"] = int(env["VIZMO_SCIM_PORT"])
    if env.get("VIZMO_SCIM_BASE_URL"):
        values["base_url"] = env["VIZMO_SCIM_BASE_URL"].rstrip("/")
    values.update({k: v for k, v in overrides.items() if v is not None})
    if isinstance(values.get("base_url"), str):
        values["base_url"] = str(values["base_url"]).rstrip("/")
    return GatewayConfig(**values)  # type: ignore[arg-type]
