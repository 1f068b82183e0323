"""``If-Match`` / ``If-None-Match`` parsed and evaluated in one place (gateway/scim/versions.py,
adapters/versions.py; RFC 7644 §3.14, RFC 9110 §13.1.1-§13.1.2, §13.2.2)."""

from __future__ import annotations

import pytest

from adapters.versions import ExpectedVersion
from gateway.scim.errors import PreconditionFailed
from gateway.scim.versions import Preconditions, parse_condition


def test_star_holds_for_any_existing_resource_also_one_without_versions() -> None:
    """A read and a write agreed on ``*`` only when the adapter kept versions: ``matches(None)``
    was False for ``*``, so an adapter without versions answered GET 200 and PUT 412 (a code review)."""
    star = parse_condition("*")
    assert star is not None and star.matches(None) and star.matches('W/"3"')
    listed = parse_condition('W/"3", "4"')
    assert listed is not None and listed.matches('"3"') and listed.matches('W/"4"') and not listed.matches(None)
    assert parse_condition("") is None and parse_condition(None) is None


def test_the_order_of_rfc_9110_13_2_2() -> None:
    current = 'W/"7"'
    assert Preconditions.parse(None, current).read_is_current(current)  # a 304
    assert not Preconditions.parse(current, 'W/"6"').read_is_current(current)  # a 200
    with pytest.raises(PreconditionFailed):  # If-Match is evaluated first
        Preconditions.parse('W/"6"', current).read_is_current(current)
    with pytest.raises(PreconditionFailed):
        Preconditions.parse(None, "*").refuse_write_to(None)
    assert Preconditions.parse(current, None).write_condition(current) == ExpectedVersion.exactly(current)
    assert Preconditions.parse(None, 'W/"6"').write_condition(current) == ExpectedVersion.exactly(current)
    assert Preconditions.parse(None, None).write_condition(current) is None
