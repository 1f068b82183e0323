"""The pure parts of the benchmark scripts: the issues' targets and verdicts (bench/targets.py),
the access-log reader (bench/report.py), the serve usage-error reader (bench/servers.py), the
alternating rounds (bench/compare.py), the load-and-fault checks (bench/fault_check.py) and the
instruction counts' requests and callgrind reader (bench/instructions.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.compare import PairResult, round_order
from bench.fault_check import CheckResult, _check_activity, _check_user
from bench.fault_traffic import Attempt, User
from bench.instructions import callgrind_totals, paths as instruction_paths
from bench.report import KindResult, access_log_stats, json_access_line
from bench.seed import SeededDirectory
from bench.servers import usage_error
from bench.targets import ISSUE_14, ISSUE_16, verdict
from bench.wrk import WrkResult


def _judge(kind: str, share: float, p99: float, *, processes: int = 1, errors: bool = False,
           targets: Any = ISSUE_14) -> str:
    return verdict(targets.of(kind), share=share, p99_ms=p99, errors=errors, connections=32, processes=processes)


def test_issue_14_lookups_need_55_percent_and_p99_below_25_ms() -> None:
    assert _judge("filter", 0.56, 24.9) == "PASS"
    assert _judge("filter", 0.54, 24.9) == "MISS: throughput"
    assert _judge("get", 0.60, 25.0) == "MISS: p99"
    assert _judge("get", 0.40, 30.0, errors=True) == "MISS: throughput, p99, errors"


def test_issue_16_lowers_the_share_to_50_percent_and_judges_patch_in_one_process() -> None:
    assert _judge("filter", 0.52, 10.0, targets=ISSUE_16) == "PASS"
    assert _judge("patch", 0.0, 49.0, targets=ISSUE_16) == "PASS"
    assert _judge("patch", 0.0, 51.0, targets=ISSUE_16) == "MISS: p99"


def test_patch_p99_of_issue_14_is_judged_with_two_processes_only() -> None:
    assert _judge("patch", 0.0, 80.0).startswith("not judged")
    assert _judge("patch", 0.0, 80.0, processes=2) == "MISS: p99"
    assert _judge("patch", 0.0, 20.0, processes=2) == "PASS"
    assert _judge("filter", 0.9, 1.0, processes=2).startswith("not judged")


def test_a_kind_without_target_still_misses_on_errors() -> None:
    assert _judge("post", 0.1, 90.0) == "no target"
    assert _judge("post", 0.1, 90.0, errors=True) == "MISS: errors"


def test_access_log_reads_text_and_json_request_lines(tmp_path: Path) -> None:
    json_line = json.dumps({"time": "2026-12-05T16:00:00.000Z", "level": "INFO", "logger": "vizmo_scim.access",
                            "message": "429 GET /x 3.0ms", "request_id": "ab", "location": "1", "method": "GET",
                            "path": "/x", "status": 429, "duration_ms": 3.0})
    log = tmp_path / "gateway.log"
    log.write_text("skipped before the offset\n"
                   "2026-12-05 16:00:00,000 INFO vizmo_scim.access 200 GET /scim/v2/Users 1.5ms id=aa location=1\n"
                   f"{json_line}\n"
                   '{"level": "INFO", "message": "directory database open"}\n', encoding="utf-8")
    statuses, p50 = access_log_stats(log, len("skipped before the offset\n"))
    assert statuses == {"200": 1, "429": 1}
    assert p50 == 3.0
    assert json_access_line('{"status": true, "duration_ms": 1}') is None


def test_usage_error_names_what_serve_refused() -> None:
    output = ("usage: vizmo-scim [-h] {serve,integration} ...\n"
              "vizmo-scim: error: unrecognized arguments: --log-format json\n")
    assert usage_error(output) == "unrecognized arguments: --log-format json"
    assert usage_error("Traceback (most recent call last):\nvizmo-scim: error: x\n") is None


def _kind(rps: float) -> KindResult:
    return KindResult("post", WrkResult(100, 1.0, rps, {"50": 1.0, "75": 1.0, "90": 1.0, "99": 2.0}, 0))


def test_rounds_alternate_and_the_verdict_is_the_median_of_round_ratios() -> None:
    assert [round_order(n) for n in range(3)] == [(0, 1), (1, 0), (0, 1)]
    pair = PairResult("post", ([_kind(90), _kind(50), _kind(100)], [_kind(100), _kind(100), _kind(100)]))
    assert pair.round_ratios() == [0.9, 0.5, 1.0]
    assert pair.ratio() == 0.9


def _attempt(method: str, status: int | None, request_id: str | None, *, user: str = "a@x", change: int = 1,
             client: int = 1) -> Attempt:
    return Attempt(client, 1, method, user, 0.0, status=status, request_id=request_id, change=change)


def _entry(request_id: str, operation: str, status: int, user: str = "a@x") -> dict[str, Any]:
    return {"request_id": request_id, "location_id": 1, "operation": operation, "status": status,
            "resource_id": "7", "user_name": user}


def test_every_acknowledged_write_needs_exactly_one_matching_entry() -> None:
    result = CheckResult()
    attempts = [_attempt("POST", 201, "r1"), _attempt("PATCH", 200, "r2", change=2),
                _attempt("PUT", 200, "r3", change=3), _attempt("DELETE", 204, "r4", change=4)]
    entries = [_entry("r1", "create", 201), _entry("r2", "patch", 200), _entry("r2", "patch", 200),
               _entry("r4", "replace", 204)]
    _check_activity(attempts, entries, result)  # type: ignore[arg-type]
    assert result.acknowledged_writes == 4 and result.acknowledged_with_one_entry == 1
    assert len(result.violations) == 4  # r2 twice (as a duplicate and as the write's count), r3 none, r4 wrong op
    assert any("r3" in v for v in result.violations)


def test_a_retry_after_a_committed_lost_attempt_may_have_no_entry() -> None:
    result = CheckResult()
    attempts = [_attempt("PATCH", None, None), _attempt("PATCH", 503, "r5"), _attempt("PATCH", 200, "r6")]
    entries = [_entry("lost", "patch", 200), _entry("r5", "patch", 503)]
    _check_activity(attempts, entries, result)  # type: ignore[arg-type]
    assert result.violations == []
    assert (result.noop_retries, result.lost_answer_entries, result.lost_answer_write_attempts) == (1, 1, 1)
    assert result.refused_with_entry == {1: 1}


def test_a_refused_answer_whose_write_committed_is_a_violation() -> None:
    result = CheckResult()
    _check_activity([_attempt("PUT", 503, "r7")], [_entry("r7", "replace", 200)], result)  # type: ignore[arg-type]
    assert any("answered 503" in v for v in result.violations)


def test_a_retry_after_a_refused_answer_whose_write_committed_is_not_counted_twice() -> None:
    result = CheckResult()
    attempts = [_attempt("PATCH", 500, "r8"), _attempt("PATCH", 200, "r9")]
    entries = [_entry("r8", "patch", 200), _entry("r8", "patch", 500)]
    _check_activity(attempts, entries, result)  # type: ignore[arg-type]
    assert len(result.violations) == 1 and "answered 500" in result.violations[0]
    assert result.noop_retries == 1


@pytest.mark.parametrize(("status", "email", "ok"), [("active", "a@x", True), ("disabled", "a@x", False),
                                                      ("removed", "a@x", False), ("active", "b@x", False)])
def test_the_directory_must_hold_the_last_acknowledged_values(status: str, email: str, ok: bool) -> None:
    expected = {"userName": "a@x", "externalId": "e", "givenName": "G", "familyName": "F", "displayName": "D",
                "title": "T", "active": True}
    row = {"location_id": 1, "email": email, "external_id": "e", "first_name": "G", "last_name": "F",
           "display_name": "D", "designation": "T", "status": status}
    result = CheckResult()
    _check_user(User("a@x", 1, scim_id="7", expected=expected), row, result)  # type: ignore[arg-type]
    assert (result.present_as_acknowledged == 1) is ok
    assert (result.violations == []) is ok


def test_a_user_deleted_with_acknowledgement_must_be_removed() -> None:
    row = {"location_id": 1, "email": "a@x", "external_id": "e", "first_name": "", "last_name": "",
           "display_name": None, "designation": None, "status": "active"}
    result = CheckResult()
    _check_user(User("a@x", 1, scim_id="7", expected={}, gone=True), row, result)  # type: ignore[arg-type]
    assert result.violations and "acknowledged delete" in result.violations[0]
    result = CheckResult()
    _check_user(User("a@x", 1, scim_id="7", expected={}, gone=True), {**row, "status": "removed"},  # type: ignore[arg-type]
                result)
    assert result.gone_as_acknowledged == 1 and not result.violations


def test_callgrind_totals_is_the_count_of_the_totals_line_not_the_zero_summary() -> None:
    """callgrind_control -d writes ``summary: 0`` before ``totals:`` when counting was switched
    on with -i (bench/instructions.py); a file without either is refused."""
    dumped = "# callgrind format\nversion: 1\nevents: Ir\nsummary: 0\n\nfn=(1) main\n5 17\ntotals: 1761223433\n"
    assert callgrind_totals(dumped) == 1761223433
    assert callgrind_totals("events: Ir\nsummary: 42\n") == 42
    with pytest.raises(ValueError):
        callgrind_totals("events: Ir\n")


def test_instruction_counts_cycle_through_the_seeded_users(tmp_path: Path) -> None:
    (tmp_path / "emails").write_text("a%40x.io\nb%40x.io\n")
    (tmp_path / "ids").write_text("7\n8\n")
    seeded = SeededDirectory(data_dir=tmp_path, directory=tmp_path / "directory.db", employees=2, scim_users=1,
                             token_file=tmp_path / "token", emails_file=tmp_path / "emails",
                             ids_file=tmp_path / "ids", seconds=0.0)
    assert instruction_paths(seeded, "filter", 3) == [
        "/scim/v2/locations/1/Users?filter=userName%20eq%20%22a%40x.io%22",
        "/scim/v2/locations/1/Users?filter=userName%20eq%20%22b%40x.io%22",
        "/scim/v2/locations/1/Users?filter=userName%20eq%20%22a%40x.io%22"]
    assert instruction_paths(seeded, "get", 3) == ["/scim/v2/locations/1/Users/7", "/scim/v2/locations/1/Users/8",
                                                   "/scim/v2/locations/1/Users/7"]
