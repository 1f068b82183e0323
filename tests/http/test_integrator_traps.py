"""The integrator's traps (issue 17 §2), through the real CLI and a real ``vizmo-scim serve``: a
plugin that cannot be imported, an adapter that serves one process only, a sort request to an
adapter that declares no sorting.

The plugins are real distributions: a ``*.dist-info`` folder with an ``entry_points.txt`` in the
``vizmo_scim.adapters`` group, on the ``PYTHONPATH`` of the subprocesses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from gateway.serving import STOP_SECONDS
from tests.serving import Server, cli, free_port

ROOT = Path(__file__).resolve().parents[2]

UNSORTED = '''
import asyncio
import dataclasses
import time
from adapters.examples.memory import MemoryAdapter, MemoryUserAdapter

class UnsortedUsers(MemoryUserAdapter):
    capabilities = dataclasses.replace(MemoryUserAdapter.capabilities, sort=False)

class UnsortedAdapter(MemoryAdapter):
    capabilities = UnsortedUsers.capabilities

    def resource_adapter(self, resource_type, tenant):
        users = super().resource_adapter(resource_type, tenant)
        return UnsortedUsers(users._tenant, users._versions)

class CappedUsers(MemoryUserAdapter):
    capabilities = dataclasses.replace(MemoryUserAdapter.capabilities, max_results=3)

    async def search(self, query):
        assert query.count <= 3, f"asked for {query.count}"  # a 500 if the gateway asks for more
        return await super().search(query)

class StuckUsers(MemoryUserAdapter):
    async def get(self, id):
        if id == "stuck-thread":  # a call on a thread that outlives the adapter timeout (a bug)
            await asyncio.to_thread(stuck_on_a_thread)
        return await super().get(id)

def stuck_on_a_thread():
    time.sleep(300)

class StuckAdapter(MemoryAdapter):
    def resource_adapter(self, resource_type, tenant):
        users = super().resource_adapter(resource_type, tenant)
        return StuckUsers(users._tenant, users._versions)

class BlockingUsers(MemoryUserAdapter):
    async def get(self, id):
        if id == "blocks-the-loop":  # a synchronous call on the event loop (a bug)
            blocking_call()
        return await super().get(id)

def blocking_call():
    time.sleep(2.5)

class BlockingAdapter(MemoryAdapter):
    def resource_adapter(self, resource_type, tenant):
        users = super().resource_adapter(resource_type, tenant)
        return BlockingUsers(users._tenant, users._versions)

class LyingUsers(MemoryUserAdapter):
    async def search(self, query):
        page = await super().search(query)
        return dataclasses.replace(page, total_results=-3)

    async def get(self, id):
        return {**await super().get(id), "id": "someone-else"}

class LyingAdapter(MemoryAdapter):
    def resource_adapter(self, resource_type, tenant):
        users = super().resource_adapter(resource_type, tenant)
        return LyingUsers(users._tenant, users._versions)

class BadOptionsAdapter(MemoryAdapter):
    @classmethod
    def from_options(cls, options):
        return cls(options["tenant_list"])  # a bug: the schema's option is "tenants"

class FlakyAdapter(MemoryAdapter):
    """Unavailable at its second and third start: the worker's, after serve's own check."""
    async def start(self):
        import os, pathlib
        from adapters.errors import Unavailable
        counter = pathlib.Path(os.environ["FLAKY_COUNTER"])
        n = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(n + 1))
        if n in (1, 2):
            raise Unavailable("the database is short of connections")
        await super().start()

class UnreachableAdapter(MemoryAdapter):
    async def start(self):
        raise ConnectionRefusedError(111, "Connection refused (db.internal:5432)")

class CappedAdapter(MemoryAdapter):
    capabilities = CappedUsers.capabilities

    def resource_adapter(self, resource_type, tenant):
        users = super().resource_adapter(resource_type, tenant)
        return CappedUsers(users._tenant, users._versions)
'''


@pytest.fixture
def plugins(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python finds three installed plugins: ``broken`` (its module imports a
    module that does not exist), ``unsorted`` (the memory example without sorting) and ``capped``
    (the memory example with pages of at most 3)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "broken_plugin.py").write_text("import vizmo_no_such_module  # noqa\n")
    (site / "unsorted_plugin.py").write_text(UNSORTED)
    info = site / "trap_plugins-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: trap-plugins\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[vizmo_scim.adapters]\nbroken = broken_plugin:BrokenAdapter\n"
                                           "unsorted = unsorted_plugin:UnsortedAdapter\n"
                                           "capped = unsorted_plugin:CappedAdapter\n"
                                           "stuck = unsorted_plugin:StuckAdapter\n"
                                           "blocking = unsorted_plugin:BlockingAdapter\n"
                                           "badoptions = unsorted_plugin:BadOptionsAdapter\n"
                                           "unreachable = unsorted_plugin:UnreachableAdapter\n"
                                           "flaky = unsorted_plugin:FlakyAdapter\n"
                                           "lying = unsorted_plugin:LyingAdapter\n")
    kept = {k: v for k, v in os.environ.items() if not k.startswith("VIZMO_SCIM_")}
    return {**kept, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=60,
                          env=env)


def serve_plugin(tmp_path: Path, plugins: dict[str, str], name: str, settings: str = "") -> tuple[Server, str]:
    """``vizmo-scim serve`` on the plugin ``name`` (``settings``: more TOML), location 1 enabled:
    the server and its Secret Token."""
    config = tmp_path / f"{name}.toml"
    config.write_text(f'[adapter]\nname = "{name}"\n{settings}')
    server = Server(tmp_path / "data", "--config", str(config), env=plugins)
    server.start()
    added = run("integration", "add", "--json", "--location", "1", "--data-dir", str(server.data_dir), env=plugins)
    assert added.returncode == 0, added.stderr
    return server, json.loads(added.stdout)["secret_token"]


BROKEN_LINE = ("vizmo-scim: cannot load the adapter plugin broken = broken_plugin:BrokenAdapter (entry point group "
               "vizmo_scim.adapters): ModuleNotFoundError: No module named 'vizmo_no_such_module'")


def test_a_plugin_that_cannot_be_imported_is_one_line_in_every_command(tmp_path: Path,
                                                                        plugins: dict[str, str]) -> None:
    listed = run("adapters", "list", "--json", env=plugins)
    assert listed.returncode == 1 and listed.stderr.strip().splitlines() == [BROKEN_LINE]
    assert {"sqlite", "postgres", "ldap", "unsorted"} <= {a["name"] for a in json.loads(listed.stdout)}
    config = tmp_path / "broken.toml"
    config.write_text('[adapter]\nname = "broken"\n')
    for args in (("check-config", str(config)),
                 ("serve", "--config", str(config), "--port", "0", "--data-dir", str(tmp_path / "data"))):
        result = run(*args, env=plugins)
        assert result.returncode == 1 and result.stdout == "", result.stdout
        assert result.stderr.strip().splitlines() == [BROKEN_LINE], result.stderr


def test_an_adapter_that_serves_one_process_refuses_more(tmp_path: Path) -> None:
    config = tmp_path / "memory.toml"
    config.write_text('[server]\nprocesses = 2\n[adapter]\nname = "adapters.examples.memory:MemoryAdapter"\n')
    expected = ("vizmo-scim: adapter 'adapters.examples.memory:MemoryAdapter' serves one process only (its "
                "Capabilities say single_process), so it cannot run 2 processes: set processes = 1 ([server] "
                "processes, --processes or VIZMO_SCIM_PROCESSES)")
    checked = cli("check-config", str(config))
    assert checked.returncode == 1 and checked.stderr.strip().splitlines() == [expected]
    config.write_text('[adapter]\nname = "adapters.examples.memory:MemoryAdapter"\n')
    assert cli("check-config", str(config)).returncode == 0
    served = cli("serve", "--config", str(config), "--processes", "2", "--port", "0",
                 "--data-dir", str(tmp_path / "data"))
    assert served.returncode == 1 and served.stdout == ""
    assert served.stderr.strip().splitlines() == [expected]
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_a_sort_request_to_an_adapter_without_sorting_is_400_invalid_value(tmp_path: Path,
                                                                           plugins: dict[str, str]) -> None:
    server, token = serve_plugin(tmp_path, plugins, "unsorted")
    try:
        assert server.request("GET", "/Users", token)[0] == 200
        status, body = server.request("GET", "/Users?sortBy=userName", token)
        assert status == 400 and body["scimType"] == "invalidValue" and "sorting (sortBy)" in body["detail"]
        status, body = server.request("POST", "/Users/.search", token, {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "sortBy": "userName"})
        assert status == 400 and body["scimType"] == "invalidValue"
        status, body = server.request("GET", "/ServiceProviderConfig", token)
        assert status == 200 and body["sort"] == {"supported": False}
    finally:
        server.stop()


def test_pages_hold_at_most_the_adapters_max_results(tmp_path: Path, plugins: dict[str, str]) -> None:
    """An adapter's ``Capabilities.max_results`` caps every page the gateway asks it for, and is
    the ServiceProviderConfig's ``filter.maxResults`` (RFC 7643 §5), below the configured 200."""
    server, token = serve_plugin(tmp_path, plugins, "capped")
    try:
        for n in range(5):
            assert server.request("POST", "/Users", token, {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"u{n}@example.com"})[0] == 201
        for target in ("/Users", "/Users?count=100", "/Users?startIndex=3&count=50"):
            status, body = server.request("GET", target, token)
            assert status == 200 and body["totalResults"] == 5 and body["itemsPerPage"] == 3, (target, body)
        status, body = server.request("GET", "/ServiceProviderConfig", token)
        assert status == 200 and body["filter"]["maxResults"] == 3
    finally:
        server.stop()


def test_a_call_stuck_on_a_thread_past_its_timeout_does_not_hold_the_stop(tmp_path: Path,
                                                                          plugins: dict[str, str]) -> None:
    """The call is answered 503 after the adapter timeout; on SIGTERM the worker drains and
    stops, and the thread still running would hold the exit (asyncio and the interpreter wait
    for it): the stop's watchdog ends the process within STOP_SECONDS, logging every thread."""
    server, token = serve_plugin(tmp_path, plugins, "stuck", "[limits]\nadapter_timeout_seconds = 1\n")
    assert server.proc is not None
    try:
        status, body = server.request("GET", "/Users/stuck-thread", token)
        assert status == 503 and body["status"] == "503"
        server.proc.send_signal(signal.SIGTERM)
        server.proc.communicate(timeout=STOP_SECONDS + 15)
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.communicate()
    log = server.log_path.read_text()
    assert server.proc.returncode == 1 and "stopped" in log
    assert "stuck_on_a_thread" in log  # the stack of the thread that held the exit


def test_a_call_blocking_the_event_loop_is_logged_with_its_stack_and_counted(tmp_path: Path,
                                                                             plugins: dict[str, str]) -> None:
    """A synchronous call in an adapter stalls every request of the worker: the log says so while
    it lasts, with the stack that holds the loop, then how long it lasted; /metrics counts it."""
    metrics_port = free_port()
    server, token = serve_plugin(tmp_path, plugins, "blocking", f"[metrics]\nport = {metrics_port}\n")
    try:
        assert server.request("GET", "/Users/blocks-the-loop", token)[0] == 404
        deadline = time.monotonic() + 10
        while "ran again after" not in server.log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        log = server.log_path.read_text()
        assert "WARNING vizmo_scim.app the event loop has not run for 1." in log, log
        stack = log.split("it is blocked in:", 1)[1].split("ran again after", 1)[0]
        assert "in blocking_call" in stack and "time.sleep(2.5)" in stack, stack
        blocked = float(log.split("the event loop ran again after about ", 1)[1].split(" s", 1)[0])
        assert 2.0 <= blocked <= 4.0, log
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as response:
            scraped = response.read().decode()
        counted = [line for line in scraped.splitlines() if line.startswith("vizmo_scim_event_loop_blocked_seconds_total")]
        assert len(counted) == 1 and float(counted[0].split()[-1]) >= 2.0, counted
        assert server.request("GET", "/Users/someone", token)[0] == 404  # one ordinary request: nothing more logged
        assert server.log_path.read_text().count("the event loop has not run") == 1
    finally:
        server.stop()


def test_a_worker_whose_storage_is_unavailable_at_start_tries_again(tmp_path: Path, plugins: dict[str, str]) -> None:
    """serve opened the storage once before starting its worker, so the worker finding it unavailable
    is passing: it tries again after a pause (it exited, was restarted at once 20 times in a second,
    and the whole gateway stopped: a PostgreSQL review)."""
    env = {**plugins, "FLAKY_COUNTER": str(tmp_path / "starts")}
    server, token = serve_plugin(tmp_path, env, "flaky")
    try:
        assert server.request("GET", "/Users", token)[0] == 200
    finally:
        log = server.stop()
    assert log.count("the storage is unavailable (the database is short of connections); trying again in") == 2


def test_a_plugin_failing_to_build_or_to_start_is_one_line_naming_it(tmp_path: Path, plugins: dict[str, str]) -> None:
    """A bug in a plugin's ``from_options``, or a store its ``start`` cannot reach, is one line
    naming the adapter and the place in its code, not a traceback."""
    config = tmp_path / "bad.toml"
    config.write_text('[adapter]\nname = "badoptions"\n')
    built = ("vizmo-scim: adapter 'badoptions': from_options failed: KeyError: 'tenant_list' "
             "(at unsorted_plugin.py:")
    for args in (("check-config", str(config)),
                 ("serve", "--config", str(config), "--port", "0", "--data-dir", str(tmp_path / "data"))):
        result = run(*args, env=plugins)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith(built), result.stderr
    config.write_text('[adapter]\nname = "unreachable"\n')
    served = run("serve", "--config", str(config), "--port", "0", "--data-dir", str(tmp_path / "data"), env=plugins)
    lines = served.stderr.strip().splitlines()
    assert served.returncode == 1 and len(lines) == 1, served.stderr
    assert lines[0].startswith("vizmo-scim: adapter 'unreachable' could not start: ConnectionRefusedError: "
                               "[Errno 111] Connection refused (db.internal:5432) (at unsorted_plugin.py:"), lines


def test_an_adapter_answer_that_breaks_the_contract_is_a_500_never_passed_on(tmp_path: Path,
                                                                            plugins: dict[str, str]) -> None:
    """A negative totalResults, or another user for an id, was answered 200 to the client (an
    integrator review): now a 500 with the request id, and the log names what the adapter did."""
    server, token = serve_plugin(tmp_path, plugins, "lying")
    try:
        status, body = server.request("POST", "/Users", token, {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a@example.com"})
        assert status == 201
        for target in ("/Users", f"/Users/{body['id']}"):
            status, answer = server.request("GET", target, token)
            assert status == 500 and "request id" in answer["detail"], (target, answer)
    finally:
        log = server.stop()
    assert "the adapter's search returned total_results -3 with 1 resources" in log
    assert f"the adapter's get('{body['id']}') returned the resource 'someone-else'" in log
