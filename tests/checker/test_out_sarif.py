"""Issue 19, item 2: SARIF never shows an undecided design as clean; rules say what they mean;
locations are %SRCROOT%-relative; the invocation says how the run ended."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ircheck import check_file, check_source
from ircheck.cli import main
from ircheck.formats import CHECK_DESCRIPTIONS, sarif
from ircheck.spec.checks import ALL_CHECKS
from tests.conftest import ROOT

FIXTURES = Path(__file__).parent / "fixtures"
HOLDS = "models/nic_single_raise.irq"
LOST = "models/lang_lost_irq.irq"


pytestmark = pytest.mark.usefixtures("in_root")


def _sarif(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["--format", "sarif", *argv])
    return code, json.loads(capsys.readouterr().out)


def _validate(doc: dict[str, Any]) -> None:
    import jsonschema
    raw = (FIXTURES / "sarif-schema-2.1.0.json").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == "03b3c591cf1a1a87c5e29119785ec9671e07a38f5f5a761d2deeea0e07faa738"
    errors = list(jsonschema.Draft7Validator(json.loads(raw)).iter_errors(doc))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_inconclusive_run_is_reported_not_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _sarif(capsys, "--max-states", "5", HOLDS)
    assert code == 3
    _validate(doc)
    run = doc["runs"][0]
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("no_lost_irq", "warning"), ("no_starvation", "warning"), ("eoi_balanced", "warning")]
    assert results[0]["message"]["text"] == (
        "no_lost_irq is inconclusive: search stopped (--max-states 5) after 5 states; it is not known to hold. "
        "Raise --max-states, --timeout or --max-memory, or try --engine smt")
    assert results[0]["properties"] == {"verdict": "inconclusive",
                                        "reason": "search stopped (--max-states 5) after 5 states"}
    # pointed at the model's `check` line
    check_line = next(i for i, ln in enumerate((ROOT / HOLDS).read_text().splitlines(), 1) if ln.startswith("check"))
    assert all(r["locations"][0]["physicalLocation"]["region"] == {"startLine": check_line} for r in results)
    inv = run["invocations"]
    assert len(inv) == 1
    assert inv[0]["executionSuccessful"] is False and inv[0]["exitCode"] == 3
    assert inv[0]["exitCodeDescription"] == "inconclusive: a limit or a signal stopped the run before a verdict"
    assert inv[0]["properties"] == {"stoppedBy": {HOLDS: "--max-states 5"}}
    assert [n["message"]["text"] for n in inv[0]["toolExecutionNotifications"]] == [
        f"{HOLDS}: the search stopped (--max-states 5) after 5 states; "
        "inconclusive: no_lost_irq, no_starvation, eoi_balanced"]


def test_invocation_of_decided_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _sarif(capsys, HOLDS)
    assert code == 0 and doc["runs"][0]["results"] == []
    assert doc["runs"][0]["invocations"] == [
        {"executionSuccessful": True, "exitCode": 0, "exitCodeDescription": "every check holds"}]
    code, doc = _sarif(capsys, LOST)  # stopped early because every check is already violated: not a stop
    assert code == 1
    assert doc["runs"][0]["invocations"] == [
        {"executionSuccessful": True, "exitCode": 1, "exitCodeDescription": "a check is violated"}]
    code, doc = _sarif(capsys, HOLDS, "no/such.irq")
    assert code == 2 and doc["runs"][0]["invocations"][0]["exitCode"] == 2
    _validate(doc)


def test_every_check_has_a_real_description() -> None:
    for name in (*ALL_CHECKS, "counter_range"):
        short, full = CHECK_DESCRIPTIONS[name]
        assert short and len(full) > len(short) > 10, name
        assert short != f"check {name}" and not full.startswith("The model's check"), name


def test_every_rule_has_full_description_and_help() -> None:
    models = ["models/kernel_abba_two_cpus.irq", "models/kernel_sleep_under_spinlock.irq", LOST,
              "models/kernel_epoll_lost_wakeup.irq", "models/kernel_race_isr_thread.irq"]
    reports = [check_file(m) for m in models] + [check_source("pic p : i8259 { base 0x21 }\n", "bad.irq")]
    doc = json.loads(sarif(reports))
    _validate(doc)
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert {"lockdep", "no_data_race", "no_sleep_in_atomic", "no_lost_wakeup", "IRQ202"} <= {r["id"] for r in rules}
    for r in rules:
        assert r["fullDescription"]["text"] and r["help"]["text"] and r["help"]["markdown"], r["id"]
        assert r["fullDescription"]["text"] != r["shortDescription"]["text"]
    lockdep = next(r for r in rules if r["id"] == "lockdep")
    assert lockdep["shortDescription"] == {"text": "lockdep would report a locking rule violation"}


def test_locations_are_srcroot_relative(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _sarif(capsys, str(ROOT / LOST))  # an absolute path inside the working directory
    assert code == 1
    run = doc["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == ROOT.as_uri() + "/"
    loc = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc == {"uri": "models/lang_lost_irq.irq", "uriBaseId": "%SRCROOT%"}
    flow = run["results"][0]["codeFlows"][0]["threadFlows"][0]["locations"]
    assert all(f["location"]["physicalLocation"]["artifactLocation"] == loc for f in flow)
    outside = json.loads(sarif([check_source("pic p : i8259 { base 0x21 }\n", "/elsewhere/m.irq")]))
    assert outside["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "file:///elsewhere/m.irq"}
