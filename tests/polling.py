"""Waiting for a condition with a deadline: the suite never sleeps a fixed time for a server; and
running a coroutine to its end on a loop of its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], object], seconds: float = 30.0, pause: float = 0.05) -> None:
    """Poll ``condition`` until it is true; fail the test if ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"condition not met in {seconds:g} s"
        time.sleep(pause)


async def wait_until_async(condition: Callable[[], object], seconds: float = 10.0) -> None:
    """:func:`wait_until` on the event loop, yielding to it between polls."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"condition not met in {seconds:g} s"
        await asyncio.sleep(0.01)


def run_on_own_loop(coroutine: Awaitable[T]) -> T:
    """``asyncio.run`` without its last step, which sets no loop current: the loop pytest-tornado
    leaves current was then dropped unclosed, and its ResourceWarning failed whichever later test
    was running when the garbage collector found it."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()
