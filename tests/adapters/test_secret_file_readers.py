"""The adapters' readers of secret files (a DSN, an LDAP bind password) say, on one line, that a
file is not UTF-8 text, never what it holds (it was a UnicodeDecodeError traceback; found by
fuzzing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.errors import Unavailable
from adapters.ldap.options import LdapSettings
from adapters.vizmo_postgres.db import DsnSource

NOT_UTF8 = b"postgresql://u:s\xffcret@db/vizmo\n"


def test_a_dsn_file_that_is_not_utf8_is_unavailable_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / "dsn"
    path.write_bytes(NOT_UTF8)
    with pytest.raises(Unavailable) as refused:
        DsnSource(file=path).read()
    assert refused.value.detail == f"the DSN file {path} is not UTF-8 text"


def test_a_bind_password_file_that_is_not_utf8_is_unavailable_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / "password"
    path.write_bytes(b"s\xffcret\n")
    settings = LdapSettings.from_options({"url": "ldap://127.0.0.1:1", "base_dn": "dc=x", "bind_dn": "cn=y",
                                          "bind_password_file": str(path)})
    with pytest.raises(Unavailable) as refused:
        settings.read_password()
    assert refused.value.detail == f"the LDAP bind password file {path} is not UTF-8 text"
