"""The metrics folder of ``serve --processes 2`` (prometheus-client's multiprocess files) after an
unclean stop: a gateway killed with SIGKILL left its folder in the temporary folder, one more per
kill (a soak review found 38). The next ``serve`` removes the folders of gateways that no longer
run, and only those."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.polling import wait_until
from tests.serving import Server


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


def test_serve_removes_the_metrics_folders_of_gateways_that_no_longer_run(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    orphan = temp / f"vizmo-scim-metrics-{_dead_pid()}-x1y2z3"
    running = temp / f"vizmo-scim-metrics-{os.getpid()}-a1b2c3"  # this test process: alive
    older = temp / "vizmo-scim-metrics-q8r9s0t1"  # an older release's name: whose it is is unknown
    for folder in (orphan, running, older):
        folder.mkdir()
        (folder / "counter_1.db").write_bytes(b"\0" * 64)

    killed = Server(tmp_path / "data", "--processes", "2", env=env)
    killed.start()
    assert killed.proc is not None
    try:
        owns = [p for p in temp.iterdir() if p.name.startswith(f"vizmo-scim-metrics-{killed.proc.pid}-")]
        assert len(owns) == 1 and not orphan.exists() and running.exists() and older.exists()
    finally:  # SIGKILL, as the OOM killer would: nothing of the gateway's own removes its folder
        killed.proc.send_signal(signal.SIGKILL)
        killed.proc.communicate(timeout=30)  # reaped, its pipe closed
    own = owns[0]
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in _workers_of(own)), 30)
    assert own.exists()  # nobody removed it: the parent was killed

    again = Server(tmp_path / "data", "--processes", "2", env=env)
    again.start()
    try:
        assert not own.exists() and running.exists() and older.exists()
    finally:
        again.stop()


def _workers_of(folder: Path) -> list[int]:
    """The worker pids whose files are in ``folder`` (prometheus-client names them by pid)."""
    return [int(p.stem.rsplit("_", 1)[1]) for p in folder.glob("*_*.db") if p.stem.rsplit("_", 1)[1].isdigit()]
