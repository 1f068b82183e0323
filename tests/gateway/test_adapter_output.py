"""``gateway.adapter_output``: an adapter's answer that breaks its contract is caught before a
client sees it (an integrator review found each of these answered 200 to Entra ID)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.query import ListQuery, Page
from gateway.adapter_output import AdapterBroke, checked_page, checked_resource

USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "a@example.com",
        "meta": {"resourceType": "User", "version": 'W/"3"'}}


def test_a_resource_that_keeps_the_contract_is_passed_on_as_it_is() -> None:
    assert checked_resource("get", USER, "u1") is USER
    assert checked_resource("create", {**USER, "meta": {"version": '"strong"'}})["id"] == "u1"
    assert checked_resource("create", {"id": "x", "userName": "no-meta@example.com"})["id"] == "x"


@pytest.mark.parametrize(("answer", "words"), [
    (None, "not a resource with an id"),
    ([USER], "not a resource with an id"),
    ({**USER, "id": 7}, "not a resource with an id"),
    ({**USER, "id": ""}, "not a resource with an id"),
    ({**USER, "id": "someone-else"}, "returned the resource 'someone-else'"),
    ({**USER, "meta": {"version": "7"}}, "not an entity tag"),
    ({**USER, "meta": {"version": 'W/"a"\r\nSet-Cookie: x'}}, "not an entity tag"),
    ({**USER, "meta": {"version": 3}}, "not an entity tag"),
])
def test_a_resource_that_breaks_the_contract_is_refused(answer: Any, words: str) -> None:
    with pytest.raises(AdapterBroke, match=words):
        checked_resource("get", answer, "u1")


def test_a_page_that_keeps_the_contract_is_passed_on() -> None:
    page = Page(resources=[USER], total_results=9)
    assert checked_page(page, ListQuery(count=1)) is page
    assert checked_page(Page(), ListQuery(count=0)).total_results == 0


@pytest.mark.parametrize(("page", "count", "words"), [
    ({"resources": [], "total_results": 0}, 5, "not a Page"),
    (Page(resources=[USER], total_results="five"), 5, "total_results 'five'"),  # type: ignore[arg-type]
    (Page(resources=[USER], total_results=-3), 5, "total_results -3"),
    (Page(resources=[USER, USER], total_results=1), 5, "total_results 1 with 2 resources"),
    (Page(resources=[USER], total_results=True), 5, "total_results True"),
    (Page(resources=[USER] * 3, total_results=3), 2, "3 resources for count 2"),
    (Page(resources=[USER, "x"], total_results=2), 5, "search returned 'x', not a resource"),  # type: ignore[list-item]
    # as a get's answer is checked (a search let these through: an SDK review)
    (Page(resources=[{**USER, "meta": {"version": "3"}}], total_results=1), 5, "meta.version '3', not an entity tag"),
    (Page(resources=[{**USER, "id": ""}], total_results=1), 5, "not a resource with an id"),
    (Page(resources=[{**USER, "meta": ["x"]}], total_results=1), 5, r"meta \['x'\], not an object"),
])
def test_a_page_that_breaks_the_contract_is_refused(page: Any, count: int, words: str) -> None:
    with pytest.raises(AdapterBroke, match=words):
        checked_page(page, ListQuery(count=count))
