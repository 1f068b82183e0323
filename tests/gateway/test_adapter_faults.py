"""A plugin that hangs or breaks where the gateway cannot answer a request for it (an SDK review):
its ``start()`` and ``stop()`` are bounded, and the CLI says what broke on one line."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway import adapter_setup
from gateway.adapter_setup import open_adapter
from gateway.config import ConfigError, load_config
from tests.serving import Server

ROOT = Path(__file__).resolve().parents[2]


def _run(coroutine: Any) -> Any:
    """Run ``coroutine`` on a loop of its own, leaving the current one alone (``asyncio.run``
    unsets it: a pytest-tornado test's loop before this one was then collected unclosed)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def _config_file(folder: Path, fault: str) -> Path:
    config = folder / "gateway.toml"
    config.write_text(f'data_dir = "data"\n[adapter]\nname = "tests.faulty_adapter:FaultyAdapter"\n'
                      f'[adapter.options]\npath = "users.json"\ntenants = ["1", "2"]\ncreate_if_missing = true\n'
                      f'fault = "{fault}"\n')
    return config


def test_a_start_that_never_returns_is_refused_within_the_bound(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve`` held its port for ever, answering nothing, while the plugin's start hung."""
    monkeypatch.setattr(adapter_setup, "ADAPTER_START_SECONDS", 0.2)
    config = load_config(_config_file(tmp_path, "start_hangs"), env={})
    with pytest.raises(ConfigError, match="did not start within 0.2 s"):
        _run(open_adapter(config))


def test_a_stop_that_never_returns_is_given_up_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(adapter_setup, "ADAPTER_STOP_SECONDS", 0.2)
    config = load_config(_config_file(tmp_path, "stop_hangs"), env={})

    async def open_and_close() -> None:
        opened = await open_adapter(config)
        await opened.close()

    _run(open_and_close())
    assert "the adapter FaultyAdapter did not stop within 0.2 s; going on without it" in caplog.text
    assert any(r.levelno == logging.WARNING for r in caplog.records)


def test_a_plugins_state_store_that_raises_is_one_line_from_the_cli(tmp_path: Path) -> None:
    """A plain exception from a plugin's state store was a full traceback."""
    config = _config_file(tmp_path, "enable_raises")
    server = Server(tmp_path / "data", "--config", str(config), data_dir_flag=False, cwd=ROOT)
    server.start()  # the first start makes the data directory and the signing key
    server.stop()
    result = subprocess.run([sys.executable, "-m", "gateway.cli", "integration", "add", "--config", str(config),
                             "--location", "1", "--base-url", "https://scim.example.com"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        "vizmo-scim: unexpected error: RuntimeError: the plugin's state store broke (at faulty_adapter.py:21)"]
