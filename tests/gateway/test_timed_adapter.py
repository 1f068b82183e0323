"""``gateway.timed_adapter.bounded``: a call that completes at once, one that waits and completes,
one that fails after waiting, one that outlasts the timeout (503, its clean-up run), one closed
while it waits, and a plain future, each on a real event loop and timed into real prometheus-client
metrics."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.errors import Unavailable
from gateway.metrics import Metrics
from gateway.adapter_output import AdapterBroke
from gateway.timed_adapter import bounded


def _sample(metrics: Metrics, name: str, operation: str) -> float:
    """One sample of the metrics' text exposition (what ``GET /metrics`` answers), 0 if absent."""
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("operation") == operation:
                return sample.value
    return 0.0


def _calls(metrics: Metrics, operation: str) -> float:
    return _sample(metrics, "vizmo_scim_adapter_call_duration_seconds_count", operation)


def _timeouts(metrics: Metrics, operation: str) -> float:
    return _sample(metrics, "vizmo_scim_adapter_timeouts_total", operation)


async def _at_once() -> str:
    return "answer"


async def _after_waits(waits: int) -> list[int]:
    seen = []
    for turn in range(waits):
        await asyncio.sleep(0)
        seen.append(turn)
    return seen


async def _fails_after_a_wait() -> None:
    await asyncio.sleep(0)
    raise LookupError("no such row")


@pytest.mark.gen_test
async def test_a_call_that_completes_at_once_is_answered_and_timed() -> None:
    metrics = Metrics()
    assert await bounded("get", _at_once(), metrics, 0.01) == "answer"
    assert _calls(metrics, "get") == 1


@pytest.mark.gen_test
async def test_a_call_that_waits_gets_every_value_it_waits_for_and_its_result_is_answered() -> None:
    metrics = Metrics()
    assert await bounded("search", _after_waits(5), metrics, 5.0) == [0, 1, 2, 3, 4]
    assert _calls(metrics, "search") == 1 and _timeouts(metrics, "search") == 0


@pytest.mark.gen_test
async def test_a_call_that_fails_after_waiting_raises_its_own_error() -> None:
    metrics = Metrics()
    with pytest.raises(LookupError, match="no such row"):
        await bounded("get", _fails_after_a_wait(), metrics, 5.0)
    assert _calls(metrics, "get") == 1 and _timeouts(metrics, "get") == 0


@pytest.mark.gen_test
async def test_a_call_that_outlasts_the_timeout_is_stopped_with_unavailable_and_cleans_up() -> None:
    metrics = Metrics()
    cleaned = asyncio.Event()

    async def hangs() -> None:
        try:
            await asyncio.Event().wait()  # nothing ever sets it
        finally:
            cleaned.set()

    with pytest.raises(Unavailable, match="did not answer modify within 0.05 s"):
        await bounded("modify", hangs(), metrics, 0.05)
    assert cleaned.is_set()  # the cancellation reached the call, whose finally block ran
    assert _timeouts(metrics, "modify") == 1 and _calls(metrics, "modify") == 1


@pytest.mark.gen_test
async def test_a_timeout_the_call_entered_itself_stays_the_calls() -> None:
    """An adapter's own ``asyncio.timeout`` entered before its first wait (the PostgreSQL pool's
    wait for a connection) expires as its own: the call raises it, the request goes on. Running
    the rest of the call as a task of its own made it cancel the request instead (a 500)."""
    async def waits_under_its_own_timeout() -> None:
        async with asyncio.timeout(0.05):  # entered in the call's first step
            await asyncio.Event().wait()

    metrics = Metrics()
    with pytest.raises(Unavailable, match="the directory's get timed out"):
        await bounded("get", waits_under_its_own_timeout(), metrics, 5.0)
    assert _timeouts(metrics, "get") == 0  # not counted, nor told, as a timeout of the gateway's (an SDK review)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    assert await _after_waits(2) == [0, 1]


@pytest.mark.gen_test
async def test_the_timeout_leaves_the_awaiting_task_uncancelled() -> None:
    """After a timeout the request's task goes on (it answers the 503): it is not left cancelling."""
    with pytest.raises(Unavailable):
        await bounded("get", asyncio.Event().wait(), Metrics(), 0.02)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    assert await _after_waits(2) == [0, 1]


@pytest.mark.gen_test
async def test_a_future_is_bounded_too() -> None:
    metrics = Metrics()
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[Any] = loop.create_future()
    loop.call_soon(ready.set_result, 7)
    assert await bounded("token", ready, metrics, 5.0) == 7
    never: asyncio.Future[Any] = loop.create_future()
    with pytest.raises(Unavailable):
        await bounded("token", never, metrics, 0.02)
    assert _timeouts(metrics, "token") == 1


@pytest.mark.gen_test
async def test_a_request_closed_while_the_call_waits_closes_the_call_too() -> None:
    """A request's coroutine closed while the adapter call under it waits (Python closes a
    coroutine dropped unfinished): the call is closed with it, first, so its own clean-up (a
    ``finally``, a connection handed back) runs then rather than whenever it is collected."""
    cleaned: list[str] = []
    never = asyncio.get_running_loop().create_future()

    async def waits_forever() -> None:
        try:
            await never
        finally:
            cleaned.append("call")

    call = waits_forever()  # held here, so only an explicit close can end it

    async def request() -> None:
        try:
            await bounded("search", call, Metrics(), 5.0)
        finally:
            cleaned.append("request")

    coroutine = request()
    assert coroutine.send(None) is never  # suspended in the call's wait, under bounded's timer
    coroutine.close()
    assert cleaned == ["call", "request"]
    assert call.cr_frame is None  # closed


@pytest.mark.gen_test
@pytest.mark.parametrize("raised", [RecursionError("deep"), SystemExit(3), KeyboardInterrupt()])
async def test_what_only_a_bug_raises_in_an_adapter_is_the_adapters_fault(raised: BaseException) -> None:
    """A RecursionError inside an adapter was answered ``400 invalidSyntax`` (the body's depth), and
    SystemExit ended the worker without a line in the log (an SDK review): an ``AdapterBroke`` (500)."""
    async def breaks() -> None:
        await asyncio.sleep(0)
        raise raised

    with pytest.raises(AdapterBroke, match=f"the adapter's get raised {type(raised).__name__}"):
        await bounded("get", breaks(), Metrics(), 5.0)
