"""Contract checks of ``search``: paging and totals, filters, logical expressions and sorting
(RFC 7644 §3.4.2).

Filters reach an adapter as an AST (:mod:`adapters.query`). Every operator the adapter declares
in ``capabilities.filter_ops`` must give the right answer on every string attribute of
:data:`~adapters.testkit.dataset.STRING_ATTRIBUTES` (and on ``emails[value ...]`` when it declares
``logical``); every operator it does not declare must raise ``UnsupportedFilter``, never a silent
wrong answer. Logical expressions and sorting are checked when declared, and skipped otherwise.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.errors import InvalidValue, UnsupportedFilter
from adapters.query import And, AttrPath, Compare, Filter, Not, Or, SortSpec, ValuePath
from adapters.testkit.dataset import (EMAIL_VALUE, FILTER_OPS, STRING_ATTRIBUTES, StringAttribute,
                                      filter_people, probes, reference_match)
from adapters.testkit.resources import full_user
from adapters.testkit.session import ContractRunner, ContractSession

__all__ = ["QueryChecks"]

_PAGE_SIZE = 7
#: (start_index, count) pairs against 7 Users: inside, across and beyond the end, and count 0.
_PAGES = [(1, 3), (3, 3), (6, 3), (7, 1), (8, 5), (100, 10), (1, 0), (4, 0), (1, 100)]


def _eq(attr: str, value: str, sub: str | None = None) -> Compare:
    return Compare(AttrPath(attr, sub), "eq", value)


#: Logical expressions over ``eq`` on the filter data set, with the userNames each must match.
_LOGICAL_CASES: list[tuple[str, Filter, set[str]]] = [
    ("and", And(_eq("title", "engineer"), _eq("name", "CAROL", "givenName")), {"carol@example.org"}),
    ("or", Or(_eq("userName", "alice@example.com"), _eq("externalId", "ext-e5")),
     {"alice@example.com", "erin@example.net"}),
    ("not", Not(_eq("title", "Engineer")), {"Bob@Example.com", "dave@example.org", "erin@example.net"}),
    ("nested", And(Or(_eq("title", "Engineer"), _eq("title", "Manager")), Not(_eq("userName", "carol@example.org"))),
     {"alice@example.com", "Bob@Example.com"}),
    ("valuePath", ValuePath(AttrPath("emails"), And(_eq("type", "work"), _eq("value", "CAROL@example.org"))),
     {"carol@example.org"}),
    ("valuePath-type", ValuePath(AttrPath("emails"), _eq("type", "home")), {"alice@example.com", "carol@example.org"}),
    ("not-valuePath", Not(ValuePath(AttrPath("emails"), _eq("type", "home"))),
     {"Bob@Example.com", "dave@example.org", "erin@example.net"}),
]


def _attribute_cases() -> list[Any]:
    return [pytest.param(attribute, op, id=f"{attribute.label}-{op}")
            for attribute in (*STRING_ATTRIBUTES, EMAIL_VALUE) for op in FILTER_OPS]


class QueryChecks:
    """Paging, filtering and sorting of ``search``."""

    # -- paging and totals ----------------------------------------------------------------
    @pytest.mark.parametrize(("start_index", "count"), _PAGES, ids=[f"start{s}-count{c}" for s, c in _PAGES])
    def test_total_results_is_the_full_count(self, contract: ContractRunner, start_index: int, count: int) -> None:
        """``total_results`` counts every match whatever the page (RFC 7644 §3.4.2.4); the page
        holds at most ``count`` resources starting at the 1-based ``start_index``."""
        async def check(s: ContractSession) -> None:
            created = await s.create_all(*(full_user(f"page{n}@example.com") for n in range(_PAGE_SIZE)))
            size = min(count, s.caps.max_results)  # the gateway never asks for more
            page = await s.search(start_index=start_index, count=size)
            expected = max(0, min(size, _PAGE_SIZE - start_index + 1))
            assert page.total_results == _PAGE_SIZE
            assert len(page.resources) == expected
            assert {r["id"] for r in page.resources} <= {u["id"] for u in created}
        contract.run(check)

    def test_paging_visits_every_resource_once(self, contract: ContractRunner) -> None:
        """Consecutive pages partition the result set (the unsorted order is stable)."""
        async def check(s: ContractSession) -> None:
            created = await s.create_all(*(full_user(f"walk{n}@example.com") for n in range(_PAGE_SIZE)))
            seen: list[str] = []
            step = min(2, s.caps.max_results)
            for start in range(1, _PAGE_SIZE + 1, step):
                seen += [r["id"] for r in (await s.search(start_index=start, count=step)).resources]
            assert sorted(seen) == sorted(u["id"] for u in created)
        contract.run(check)

    def test_search_returns_what_get_returns(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            await s.create_all(*filter_people())
            found = await s.all_resources()
            assert len(found) == 5
            for resource in found:
                assert resource == await s.users.get(resource["id"])
        contract.run(check)

    def test_filtered_total_results(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            s.require("eq" in s.caps.filter_ops, "the adapter does not declare the eq operator")
            await s.create_all(*filter_people())
            engineers = _eq("title", "Engineer")
            for start_index, count, shown in ((1, 0, 0), (1, 1, 1), (2, 5, 1), (3, 5, 0)):
                page = await s.search(engineers, start_index=start_index, count=count)
                assert (page.total_results, len(page.resources)) == (2, shown), (start_index, count)
        contract.run(check)

    # -- filter operators -----------------------------------------------------------------
    @pytest.mark.parametrize(("attribute", "op"), _attribute_cases())
    def test_filter_operator(self, contract: ContractRunner, attribute: StringAttribute, op: str) -> None:
        """A declared operator matches exactly the Users the reference semantics match (case
        folded unless ``caseExact``); an undeclared one raises ``UnsupportedFilter``."""
        async def check(s: ContractSession) -> None:
            if attribute.value_path:
                s.require(s.caps.logical, "the adapter does not declare logical (value path) filters")
            people = filter_people()
            await s.create_all(*people)
            for probe in probes(attribute, op):
                node = attribute.filter(op, probe)
                if op not in s.caps.filter_ops:
                    with pytest.raises(UnsupportedFilter):
                        await s.search(node)
                    continue
                expected = {p["userName"] for p in people if reference_match(attribute, p, op, probe)}
                assert await s.user_names(node) == expected, f"filter {node!r}"
        contract.run(check)

    def test_filter_id_eq(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            s.require("eq" in s.caps.filter_ops, "the adapter does not declare the eq operator")
            created = await s.create_all(*filter_people())
            target = created[1]
            assert await s.user_names(_eq("id", target["id"])) == {target["userName"]}
            assert await s.user_names(_eq("id", target["id"] + "-missing")) == set()
        contract.run(check)

    # -- logical expressions --------------------------------------------------------------
    @pytest.mark.parametrize(("label", "node", "expected"), _LOGICAL_CASES, ids=[c[0] for c in _LOGICAL_CASES])
    def test_logical_filter(self, contract: ContractRunner, label: str, node: Filter, expected: set[str]) -> None:
        """``and``/``or``/``not`` and value paths (RFC 7644 §3.4.2.2), when ``logical`` is declared."""
        async def check(s: ContractSession) -> None:
            s.require(s.caps.logical, "the adapter does not declare logical filters")
            s.require("eq" in s.caps.filter_ops, "the adapter does not declare the eq operator")
            await s.create_all(*filter_people())
            assert await s.user_names(node) == expected, f"filter {node!r}"
        contract.run(check)

    @pytest.mark.parametrize(("label", "node", "expected"), _LOGICAL_CASES, ids=[c[0] for c in _LOGICAL_CASES])
    def test_undeclared_logical_filter_is_never_wrong(self, contract: ContractRunner, label: str, node: Filter,
                                                      expected: set[str]) -> None:
        """Without ``logical`` an adapter may still translate some expressions, but each one
        must give the right answer or raise ``UnsupportedFilter``."""
        async def check(s: ContractSession) -> None:
            s.require(not s.caps.logical, "the adapter declares logical filters (test_logical_filter)")
            s.require("eq" in s.caps.filter_ops, "the adapter does not declare the eq operator")
            await s.create_all(*filter_people())
            try:
                found = await s.user_names(node)
            except UnsupportedFilter:
                return
            assert found == expected, f"filter {node!r}: a wrong answer instead of UnsupportedFilter"
        contract.run(check)

    # -- sorting --------------------------------------------------------------------------
    @pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
    def test_sort_by_user_name(self, contract: ContractRunner, descending: bool) -> None:
        """``sortBy=userName`` orders by userName ignoring case (it is not caseExact, RFC 7644
        §3.4.2.3), in whole and across pages."""
        async def check(s: ContractSession) -> None:
            s.require(s.caps.sort, "the adapter does not declare sort")
            people = filter_people()
            await s.create_all(*people)
            order = sorted((p["userName"] for p in people), key=str.lower, reverse=descending)
            spec = SortSpec(AttrPath("userName"), descending=descending)
            assert [r["userName"] for r in await s.all_resources(sort=spec)] == order
            size = min(2, s.caps.max_results)
            middle = await s.search(sort=spec, start_index=2, count=size)
            assert [r["userName"] for r in middle.resources] == order[1:1 + size] and middle.total_results == 5
            if "eq" in s.caps.filter_ops:
                engineers = await s.all_resources(_eq("title", "Engineer"), sort=spec)
                wanted = [name for name in order if name in ("alice@example.com", "carol@example.org")]
                assert [r["userName"] for r in engineers] == wanted
        contract.run(check)

    def test_sort_by_display_name_ignores_case(self, contract: ContractRunner) -> None:
        """``sortBy=displayName`` ignores case too (``caseExact`` false, RFC 7644 §3.4.2.3): a
        case-sensitive sort puts every capital first (an integrator review: only userName was
        checked). An adapter that cannot sort by displayName says so (``InvalidValue``)."""
        async def check(s: ContractSession) -> None:
            s.require(s.caps.sort, "the adapter does not declare sort")
            names = ["Delta", "alpha", "charlie", "Bravo"]
            await s.create_all(*(full_user(f"{name.lower()}@example.com", display_name=name) for name in names))
            try:
                found = await s.all_resources(sort=SortSpec(AttrPath("displayName")))
            except InvalidValue:
                pytest.skip("the adapter does not sort by displayName")
            assert [r.get("displayName") for r in found] == sorted(names, key=str.lower), found
        contract.run(check)
