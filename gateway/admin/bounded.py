"""The admin page's storage calls, each bounded by ``[limits] adapter_timeout_seconds`` as the
SCIM endpoints' are (:mod:`gateway.timed_adapter`): with the database frozen the page waited 30 s
for each and answered 500, where the SCIM endpoints answered 503 after the configured 5 s (a
scale-out review)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from adapters.errors import Unavailable

__all__ = ["bounded_calls"]

T = TypeVar("T")


class _Bounded:
    """``inner`` with every coroutine method raising ``Unavailable`` past ``timeout`` seconds."""

    def __init__(self, inner: object, timeout: float) -> None:
        self._inner, self._timeout = inner, timeout

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(found):
            return found
        return self._bounded(name, found)

    def _bounded(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                async with asyncio.timeout(self._timeout):
                    return await method(*args, **kwargs)
            except TimeoutError:
                raise Unavailable(f"the storage did not answer {name} within {self._timeout:g} s") from None
        return call


def bounded_calls(inner: T, timeout: float) -> T:
    """``inner`` as its own type, each of its coroutine methods bounded by ``timeout``."""
    return cast(T, _Bounded(inner, timeout))
