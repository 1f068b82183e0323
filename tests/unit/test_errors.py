"""The protocol core's one error family (gateway/scim/errors.py): typed by scimType, one
argument order, and the one place the model's and the parser's errors become protocol errors."""

from __future__ import annotations

import pytest

from adapters import errors as adapter_errors
from adapters.schema import UnknownAttribute, resource_types
from gateway.admin.base import _unavailable
from gateway.errors import RETRY_AFTER_SECONDS, scim_error_for
from gateway.scim.errors import (FilterSyntaxError, InvalidFilter, InvalidPath, InvalidSyntax, InvalidValue, Mutability,
                                 NoTarget, OverLimit, PATH_ERRORS, ProtocolError, TooLarge, reported_as)
from gateway.scim.filter import parse_filter
from gateway.scim.listing import parse_list_request
from gateway.scim.patch import apply_patch

USER = resource_types()["User"]


@pytest.mark.parametrize(("cls", "scim_type", "status"), [
    (InvalidSyntax, "invalidSyntax", 400), (InvalidValue, "invalidValue", 400), (OverLimit, "invalidValue", 400),
    (InvalidFilter, "invalidFilter", 400), (FilterSyntaxError, "invalidFilter", 400),
    (InvalidPath, "invalidPath", 400), (NoTarget, "noTarget", 400), (Mutability, "mutability", 400),
    (TooLarge, None, 413),
])
def test_each_error_is_typed_by_its_scim_type(cls: type[ProtocolError], scim_type: str | None, status: int) -> None:
    error = cls("the detail")
    assert isinstance(error, ProtocolError) and isinstance(error, ValueError)
    assert (error.scim_type, error.status, error.detail, str(error)) == (scim_type, status, "the detail", "the detail")


def test_a_filter_syntax_error_keeps_its_position() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter('userName eq "x" and')
    assert isinstance(info.value, InvalidFilter) and info.value.position == len('userName eq "x" and')


@pytest.mark.parametrize("raised", [UnknownAttribute("Unknown attribute nope"), FilterSyntaxError("bad path", 3)])
def test_reported_as_translates_the_models_and_the_parsers_errors(raised: ValueError) -> None:
    assert isinstance(raised, PATH_ERRORS)
    error = reported_as(InvalidValue, "sortBy: ", raised)
    assert type(error) is InvalidValue and error.detail == f"sortBy: {raised}"


@pytest.mark.parametrize(("params", "error", "detail"), [
    ({"filter": "nope eq 1"}, InvalidFilter, "invalid filter: Unknown attribute nope for resource type User"),
    ({"filter": 'userName eq "x" and'}, InvalidFilter, "invalid filter: unexpected end of filter at position 19"),
    ({"sortBy": "password"}, InvalidValue, "sortBy: password is never returned"),
    ({"attributes": "nope"}, InvalidValue, "attributes: Unknown attribute nope"),
])
def test_list_parameters_report_the_path_errors_with_their_scim_type(
        params: dict[str, str], error: type[ProtocolError], detail: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_list_request(params, USER, max_results=200)
    assert type(info.value) is error and info.value.detail.startswith(detail)


def test_a_patch_error_names_its_operation_and_keeps_its_type() -> None:
    user = {"schemas": [USER.core.id], "id": "1", "userName": "u"}
    with pytest.raises(Mutability) as info:
        apply_patch(user, [{"op": "remove", "path": "userName"}], USER)
    assert info.value.detail.startswith("Operations[0] (remove userName): userName is required")
    with pytest.raises(OverLimit) as over:  # a limit names the attribute, not the operation
        apply_patch(user, [{"op": "add", "path": "emails", "value": [{"value": "a"}, {"value": "b"}]}], USER,
                    max_values=1)
    assert over.value.detail == "emails would hold 2 values; at most 1 are stored."


@pytest.mark.parametrize("raised", [ConnectionResetError(104, "Connection reset by peer"), BrokenPipeError(),
                                    ConnectionRefusedError(111, "Connection refused")])
def test_a_storage_connection_that_went_away_is_a_503_and_its_cause_is_one_line(raised: OSError) -> None:
    """An adapter whose socket to its store failed: 503 with Retry-After (the client retries),
    not a 500; the log line names the cause (gateway.errors.cause)."""
    from gateway.errors import cause, scim_error_for

    error = scim_error_for(raised)
    assert error is not None and error.status == 503 and error.headers == {"Retry-After": "5"}
    assert cause(raised).startswith(type(raised).__name__) and "\n" not in cause(raised)


def test_a_bug_is_still_a_500() -> None:
    from gateway.errors import scim_error_for

    assert scim_error_for(OSError(2, "No such file")) is None and scim_error_for(KeyError("x")) is None


def test_a_storage_that_went_away_is_a_503_on_the_scim_endpoints_and_the_admin_page_alike() -> None:
    """One rule (``adapters.errors.storage_unavailable``): the admin page answered a driver's
    ``ConnectionError`` with a 500 where the SCIM endpoints answered 503 (a maintainability review)."""
    for exc in (adapter_errors.Unavailable("down"), ConnectionResetError(104, "reset"), BrokenPipeError()):
        error = scim_error_for(exc)
        assert error is not None and error.status == 503 and error.headers["Retry-After"] == RETRY_AFTER_SECONDS
        assert _unavailable((type(exc), exc, None))
    assert scim_error_for(TimeoutError()) is None and not _unavailable((TimeoutError, TimeoutError(), None))
