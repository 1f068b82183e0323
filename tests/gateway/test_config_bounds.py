"""Every source of a setting (file, ``VIZMO_SCIM_*``, flag) is held to the file schema's bounds:
ports 0-65535, 1-64 processes, ASCII digits only, finite numbers, an http(s) origin as base_url;
a file that cannot be read as UTF-8 TOML is one ConfigError, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "gateway.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("raw", ["70000", "99999", "65536", "-1", "٣", " 8_08_1 ", "8_081", "+80", " 80", "0x50", "８０"])
def test_port_from_the_environment_is_ascii_digits_within_0_to_65535(raw: str) -> None:
    with pytest.raises(ConfigError, match="VIZMO_SCIM_PORT must be a whole number from 0 to 65535"):
        load_config(env={"VIZMO_SCIM_PORT": raw})


@pytest.mark.parametrize("raw", ["70000", "-1", "٣", "8_081", " 80 "])
def test_port_flag_is_ascii_digits_within_0_to_65535(raw: str) -> None:
    with pytest.raises(ConfigError, match="--port must be a whole number from 0 to 65535"):
        load_config(env={}, port=raw)


@pytest.mark.parametrize("port", [70000, -1, 65536])
def test_port_given_as_a_number_is_range_checked_too(port: int) -> None:
    with pytest.raises(ConfigError, match=r"\[server\] port"):
        load_config(env={}, port=port)


def test_ports_within_the_range_are_kept() -> None:
    assert load_config(env={"VIZMO_SCIM_PORT": "0"}).port == 0
    assert load_config(env={"VIZMO_SCIM_PORT": "65535"}).port == 65535
    assert load_config(env={}, port="8081").port == 8081


@pytest.mark.parametrize("raw", ["65", "1000", "0", "٢", "1_0"])
def test_processes_from_the_environment_are_1_to_64(raw: str) -> None:
    with pytest.raises(ConfigError, match="VIZMO_SCIM_PROCESSES must be a whole number from 1 to 64"):
        load_config(env={"VIZMO_SCIM_PROCESSES": raw})


def test_processes_flag_is_capped_at_64_as_in_the_file() -> None:
    with pytest.raises(ConfigError, match="--processes must be a whole number from 1 to 64"):
        load_config(env={}, processes="65")
    with pytest.raises(ConfigError, match=r"\[server\] processes"):
        load_config(env={}, processes=65)
    assert load_config(env={}, processes="64").processes == 64


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "+nan"])
def test_requests_per_second_in_the_file_must_be_finite(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="requests_per_second"):
        load_config(write(tmp_path, f"[limits]\nrequests_per_second = {value}\n"), env={})


@pytest.mark.parametrize("value", ["nan", "inf", "-nan"])
def test_adapter_timeout_in_the_file_must_be_finite(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="adapter_timeout_seconds"):
        load_config(write(tmp_path, f"[limits]\nadapter_timeout_seconds = {value}\n"), env={})


@pytest.mark.parametrize("raw", ["nan", "inf", "NaN", "Infinity", "1e400", "٣", "1_0"])
def test_rate_limit_flag_must_be_a_finite_ascii_number(raw: str) -> None:
    with pytest.raises(ConfigError, match="--rate-limit must be a finite number"):
        load_config(env={}, rate_limit=raw)


@pytest.mark.parametrize(("settings", "named"), [({"rate_limit": "0"}, "[limits] requests_per_second (--rate-limit)"),
                                                 ({"rate_burst": "0"}, "--rate-burst must be a whole number")])
def test_a_rate_limit_out_of_range_is_refused_naming_its_setting(settings: dict[str, str], named: str) -> None:
    """The refusal named neither the flag nor the file's key (found by following README)."""
    with pytest.raises(ConfigError) as refused:
        load_config(env={}, **settings)  # type: ignore[arg-type]
    assert str(refused.value).startswith(named)


def test_float_settings_given_as_numbers_must_be_finite() -> None:
    with pytest.raises(ConfigError, match="requests_per_second"):
        load_config(env={}, rate_limit=float("nan"))
    with pytest.raises(ConfigError, match="adapter_timeout_seconds"):
        load_config(env={}, adapter_timeout=float("inf"))
    assert load_config(env={}, rate_limit="2.5").rate_limit == 2.5


BAD_URLS = ["ftp://x", "not a url\r\nX: y", "https://scim.example.com\r\nX: y", "https://a b.example",
            "https://scim.example.com/\n", "https://", "https://:443", "https://scim.example.com/a b",
            "https://user@scim.example.com", "https://scim.example.com?x=1", "https://scim.example.com:99999",
            "https://scim.example.com\x00", "//scim.example.com"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_base_url_from_the_environment_must_be_an_http_origin(url: str) -> None:
    with pytest.raises(ConfigError, match="VIZMO_SCIM_BASE_URL must be the gateway's public origin"):
        load_config(env={"VIZMO_SCIM_BASE_URL": url})


@pytest.mark.parametrize("url", BAD_URLS)
def test_base_url_flag_must_be_an_http_origin(url: str) -> None:
    with pytest.raises(ConfigError, match="--base-url must be the gateway's public origin"):
        load_config(env={}, base_url=url)


@pytest.mark.parametrize("url", ["https://scim.example.com\r\nX: y", "https://a b", "https://a/\tb",
                                 "https://scim.example.com\n"])
def test_base_url_in_the_file_refuses_white_space_and_control_characters(tmp_path: Path, url: str) -> None:
    path = write(tmp_path, f'[server]\nbase_url = "{url.encode("unicode_escape").decode()}"\n')
    with pytest.raises(ConfigError, match="base_url"):
        load_config(path, env={})


@pytest.mark.parametrize("url", ["https://scim.example.com", "http://127.0.0.1:8080", "https://[::1]:8443",
                                 "https://scim.example.com/gateway/", "https://xn--bcher-kva.example"])
def test_good_base_urls_are_kept(url: str) -> None:
    assert load_config(env={"VIZMO_SCIM_BASE_URL": url}).base_url == url.rstrip("/")
    assert load_config(env={}, base_url=url).base_url == url.rstrip("/")


def test_a_byte_order_mark_before_the_file_is_read_past(tmp_path: Path) -> None:
    """Windows Notepad starts a UTF-8 file with U+FEFF: TOML's 'Invalid statement (at line 1,
    column 1)' named nothing a reader could see."""
    assert load_config(write(tmp_path, "\ufeff[server]\nport = 8123\n".encode()), env={}).port == 8123


def test_a_file_that_is_not_utf8_is_one_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, b"\x00\xff\xfe")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(path, env={})


def test_a_file_nested_5000_deep_is_one_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "a = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path, env={})
