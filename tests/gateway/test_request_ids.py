"""``gateway.request_ids``: 16 hex digits, never repeated in a process (not even after the
counter's 2³² values), and a forked worker (``--processes N``) draws its own prefix rather than
repeating its parent's ids."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys

from gateway import request_ids
from gateway.request_ids import new_request_id

#: Run in a fresh interpreter (single-threaded, so it may fork): the parent's next id and the
#: child's first, one per line.
FORKING = """
import os
from gateway.request_ids import new_request_id
new_request_id()
pid = os.fork()
if pid == 0:
    print(new_request_id(), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print(new_request_id(), flush=True)
"""


def test_ids_are_sixteen_hex_digits_and_never_repeat() -> None:
    ids = [new_request_id() for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{16}", one) for one in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_worker_does_not_repeat_its_parents_ids() -> None:
    done = subprocess.run([sys.executable, "-c", FORKING], capture_output=True, text=True, timeout=60, check=True)
    child, parent = done.stdout.split()
    assert child[:8] != parent[:8]
    assert parent[8:] == "00000001"  # the parent's sequence went on; the child's started over
    assert child[8:] == "00000000"


def test_ids_after_the_counters_last_value_take_a_new_prefix_instead_of_repeating() -> None:
    """A worker serving 1,000 requests a second uses the 32-bit counter up in 50 days; the ids
    after it once started over at ...00000000 under the same prefix, repeating the first ones."""
    first = new_request_id()
    request_ids._sequence.counter = itertools.count(0xFFFFFFFE)  # the process's own, 2³² - 2 ids on
    last_two = [new_request_id(), new_request_id()]
    after = new_request_id()
    assert [one[:8] for one in last_two] == [first[:8]] * 2
    assert [one[8:] for one in last_two] == ["fffffffe", "ffffffff"]
    assert after[:8] != first[:8] and after[8:] == "00000000"
    assert re.fullmatch(r"[0-9a-f]{16}", after)
