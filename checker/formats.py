"""Machine formats for CI and other tools: SARIF 2.1.0, JUnit XML, ITF traces.

- `sarif(reports)`: one SARIF run for all models; a result per violated check
  (the trace as a code flow) and per input error. For code scanning UIs.
- `junit(reports)`: a `<testsuite>` per model, a `<testcase>` per check
  (failure = violated, skipped = inconclusive); a model with input errors is
  one `<error>` testcase. For Jenkins / GitLab test reports.
- `itf(report)`: each violated check's trace as full states in the Apalache/Quint
  Informal Trace Format (https://apalache-mc.org/docs/adr/015adr-trace.html).

Only the data of `Report`s is used: no engine, no interrupt knowledge.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

from ircheck.grammar.diagnostics import Diagnostic, shown_path
from ircheck.report import trace_lines
from ircheck.result import INCONCLUSIVE, VIOLATED, CheckResult, Report
from ircheck.spec.checks import CATALOGUE
from ircheck.version import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ITF_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"

# Every check's (short, full) description, from the catalogue (spec/checks.py). The full one is the
# SARIF rule's fullDescription and help, so a code-scanning UI can say what a rule means.
CHECK_DESCRIPTIONS: dict[str, tuple[str, str]] = {c.name: (c.short, c.full) for c in CATALOGUE}

_CODE_KINDS = {"0": "syntax error", "1": "name error", "2": "hardware well-formedness error",
               "3": "code context error", "4": "check error", "9": "not supported yet"}


# ---- SARIF ----------------------------------------------------------------------------

SRCROOT = "%SRCROOT%"  # the directory ircheck ran in: relative model paths are relative to it
_EXIT_TEXT = {0: "every check holds", 1: "a check is violated", 2: "bad input", 3: "inconclusive: a limit or a "
              "signal stopped the run before a verdict", 4: "internal error in ircheck"}
_WORST = (4, 2, 1, 3)


def _artifact(path: str) -> dict[str, object]:
    """A model path as a SARIF artifact location. A relative path (or an absolute one inside the
    working directory) is relative to %SRCROOT%, which code-scanning services map to the checkout;
    any other absolute path is a file: URI."""
    if PureWindowsPath(path).drive:  # C:\\x.irq
        return {"uri": PureWindowsPath(path).as_uri()}
    posix = path.replace("\\", "/")
    if PurePosixPath(posix).is_absolute():
        try:
            posix = PurePosixPath(os.path.relpath(posix, os.getcwd())).as_posix()
        except ValueError:
            return {"uri": PurePosixPath(posix).as_uri()}
        if posix.startswith("../") or posix == "..":
            return {"uri": PurePosixPath(path.replace("\\", "/")).as_uri()}
    return {"uri": quote(posix, safe="/"), "uriBaseId": SRCROOT}


def _physical(path: str, line: int, column: int = 0) -> dict[str, object]:
    loc: dict[str, object] = {"artifactLocation": _artifact(path)}
    if line >= 1:
        region: dict[str, object] = {"startLine": line}
        if column >= 1:
            region["startColumn"] = column
        loc["region"] = region
    return loc


def _violation_line(c: CheckResult) -> int:
    """The model line to point at: a deadlock's acquisition that never proceeds, else the offending
    step (safety), else the check's own line; at least 1."""
    if c.blocked is not None and c.blocked.line >= 1:
        return c.blocked.line
    for s in reversed(c.trace):
        if s.note == "violation" and s.line >= 1:
            return s.line
    if c.line >= 1:
        return c.line
    if c.trace and c.trace[-1].line >= 1:
        return c.trace[-1].line
    return 1


def _check_line(report: Report, name: str) -> int:
    """The line of the model's `check` declaration naming `name` (else its first `check` line, else 1)."""
    first = 0
    for i, line in enumerate(report.source.splitlines(), start=1):
        words = line.split("#", 1)[0].replace(",", " ").split()
        if words[:1] == ["check"]:
            if name in words:
                return i
            first = first or i
    return first or 1


def _check_result(report: Report, c: CheckResult, rule_index: int) -> dict[str, object]:
    res: dict[str, object] = {
        "ruleId": c.name, "ruleIndex": rule_index, "level": "error",
        "message": {"text": c.message or f"{c.name} is violated"},
        "locations": [{"physicalLocation": _physical(report.model, _violation_line(c))}],
    }
    if c.trace:
        steps = [{"location": {"physicalLocation": _physical(report.model, s.line if s.line >= 1 else 1),
                               "message": {"text": f"{s.context}: {s.action}"}}} for s in c.trace]
        if c.blocked is not None:  # a deadlock: the acquisition that never proceeds ends the flow
            b = c.blocked
            steps.append({"location": {"physicalLocation": _physical(report.model, max(b.line, 1)),
                                       "message": {"text": f"{b.context}: {b.action} (never proceeds)"}}})
        res["codeFlows"] = [{"threadFlows": [{"locations": steps}]}]
    return res


def _inconclusive_result(report: Report, c: CheckResult, rule_index: int) -> dict[str, object]:
    """An undecided check is a warning, never silence: the design is not known to be correct."""
    why = c.note or (f"stopped by {report.stats.stopped_by}" if report.stats.stopped_by else "no verdict")
    text = (f"{c.name} is inconclusive: {why}; it is not known to hold. Raise --max-states, --timeout or "
            "--max-memory, or try --engine smt")
    line = c.line if c.line >= 1 else _check_line(report, c.name)
    return {"ruleId": c.name, "ruleIndex": rule_index, "level": "warning", "message": {"text": text},
            "locations": [{"physicalLocation": _physical(report.model, line)}],
            "properties": {"verdict": INCONCLUSIVE, "reason": why}}


def _diagnostic_result(report: Report, d: Diagnostic, rule_index: int) -> dict[str, object]:
    text = d.message + (f" (hint: {d.hint})" if d.hint else "")
    path = d.path if d.path and not d.path.startswith("<") else report.model
    return {"ruleId": d.code, "ruleIndex": rule_index, "level": "error", "message": {"text": text},
            "locations": [{"physicalLocation": _physical(path, d.line, d.column)}]}


def _rule(rule_id: str, short: str, full: str, help_md: str) -> dict[str, object]:
    return {"id": rule_id, "shortDescription": {"text": short}, "fullDescription": {"text": full},
            "help": {"text": full, "markdown": help_md}, "defaultConfiguration": {"level": "error"}}


def _check_rule(name: str) -> dict[str, object]:
    short, full = CHECK_DESCRIPTIONS.get(name, (f"check {name}", f"The model's check {name}."))
    md = (f"**{name}**: {full}\n\nThe result's code flow is the shortest sequence of steps that breaks it; "
          f"reproduce it with `ircheck --check {name} MODEL.irq` or draw it with `ircheck trace`.")
    return _rule(name, short, full, md)


def _error_rule(code: str) -> dict[str, object]:
    kind = _CODE_KINDS.get(code[3:4], "input error")
    if code == "IRQ999":
        short, full = "Internal error in ircheck", "ircheck failed on this model: a bug in ircheck, please report it."
    else:
        short = f"Input {kind} ({code})"
        full = (f"The model cannot be checked: {kind} {code}. The result's message says what is wrong and, "
                "where it can, how to fix it.")
    return _rule(code, short, full, f"**{code}**: {full}\n\nSee the error codes in docs/reference.md.")


def exit_code(reports: Sequence[Report]) -> int:
    """The exit status of a run over these reports (the worst wins: 4 > 2 > 1 > 3 > 0)."""
    codes = {4 if any(d.code == "IRQ999" for d in r.errors) else r.exit_code for r in reports}
    return next((c for c in _WORST if c in codes), 0)


def _invocation(reports: Sequence[Report]) -> dict[str, object]:
    code = exit_code(reports)
    notes: list[dict[str, object]] = []
    stopped: dict[str, str] = {}
    for r in reports:
        st = r.stats
        undecided = [c.name for c in r.checks if c.status == INCONCLUSIVE]
        if undecided:  # a run stopped once every check was violated has stopped at its verdict
            reason = st.stopped_by or "incomplete"
            stopped[r.model] = reason
            notes.append({"level": "warning", "descriptor": {"id": "stopped"},
                          "message": {"text": f"{r.model}: the search stopped ({reason}) after {st.states:,} states"
                                      + f"; inconclusive: {', '.join(undecided)}"},
                          "locations": [{"physicalLocation": _physical(r.model, 0)}]})
    inv: dict[str, object] = {"executionSuccessful": code not in (3, 4) and not stopped, "exitCode": code,
                              "exitCodeDescription": _EXIT_TEXT[code]}
    if notes:
        inv["toolExecutionNotifications"] = notes
        inv["properties"] = {"stoppedBy": stopped}
    return inv


def sarif_doc(reports: Sequence[Report]) -> dict[str, object]:
    """The SARIF log as a dict: one run, rules for every check and error code that appears, a result
    per violated check (error), per inconclusive check (warning) and per input error, and the
    invocation (exit code, whether the search ran to its end, what stopped it)."""
    rules: list[dict[str, object]] = []
    index: dict[str, int] = {}

    def rule_of(rule_id: str, make: Callable[[str], dict[str, object]]) -> int:
        if rule_id not in index:
            index[rule_id] = len(rules)
            rules.append(make(rule_id))
        return index[rule_id]

    results: list[dict[str, object]] = []
    for r in reports:
        for d in r.errors:
            results.append(_diagnostic_result(r, d, rule_of(d.code, _error_rule)))
        for c in r.checks:
            i = rule_of(c.name, _check_rule)
            if c.status == VIOLATED:
                results.append(_check_result(r, c, i))
            elif c.status == INCONCLUSIVE:
                results.append(_inconclusive_result(r, c, i))
    driver = {"name": "ircheck", "version": __version__, "rules": rules}
    base = {SRCROOT: {"uri": PurePosixPath(os.getcwd()).as_uri().rstrip("/") + "/"
                      if not PureWindowsPath(os.getcwd()).drive else PureWindowsPath(os.getcwd()).as_uri() + "/",
                      "description": {"text": "the directory ircheck ran in"}}}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0",
            "runs": [{"tool": {"driver": driver}, "invocations": [_invocation(reports)],
                      "originalUriBaseIds": base, "results": results}]}


def sarif(reports: Sequence[Report]) -> str:
    return json.dumps(sarif_doc(reports), indent=2)


# ---- JUnit XML --------------------------------------------------------------------------

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: str) -> str:
    """Text XML 1.0 can hold: control characters become U+FFFD (ElementTree does the escaping)."""
    return _NOT_XML.sub("\ufffd", text)


def _secs(s: float) -> str:
    return f"{s:.3f}"


def trace_text(c: CheckResult, model: str) -> str:
    """A violated check's trace as in the text report (each step at `model:line`)."""
    kind = "lasso" if c.loop_start else "counterexample"
    out = [f"{kind}, {len(c.trace)} step{'s' if len(c.trace) != 1 else ''}:", *trace_lines(c, shown_path(model))]
    out.append(f"=> {c.message}")
    return "\n".join(out)


def _suite(report: Report) -> tuple[ET.Element, dict[str, int], float]:
    st = report.stats
    suite = ET.Element("testsuite", name=_x(report.model))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0 if report.errors else st.seconds
    if report.errors:
        counts["tests"] = counts["errors"] = 1
        case = ET.SubElement(suite, "testcase", classname=_x(report.model), name="input", time=_secs(0))
        err = ET.SubElement(case, "error", message=_x(report.errors[0].message), type=_x(report.errors[0].code))
        err.text = _x("\n".join(d.render(report.source) for d in report.errors))
    else:
        props = ET.SubElement(suite, "properties")
        for k, v in (("engine", st.engine), ("states", st.states), ("transitions", st.transitions),
                     ("depth", st.depth), ("complete", str(st.complete).lower())):
            ET.SubElement(props, "property", name=k, value=_x(str(v)))
        # one search decides every check at once: its time is shared out evenly
        share = seconds / len(report.checks) if report.checks else 0.0
        for c in report.checks:
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=_x(report.model), name=_x(c.name), time=_secs(share))
            if c.status == VIOLATED:
                counts["failures"] += 1
                f = ET.SubElement(case, "failure", message=_x(c.message), type="violated")
                f.text = _x(trace_text(c, report.model))
            elif c.status == INCONCLUSIVE:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=_x(f"inconclusive: {c.note}" if c.note else "inconclusive"))
    for k, v in counts.items():
        suite.set(k, str(v))
    suite.set("time", _secs(seconds))
    return suite, counts, seconds


def junit(reports: Sequence[Report]) -> str:
    root = ET.Element("testsuites", name="ircheck")
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0
    for r in reports:
        suite, counts, secs = _suite(r)
        root.append(suite)
        seconds += secs
        for k, v in counts.items():
            total[k] += v
    for k, v in total.items():
        root.set(k, str(v))
    root.set("time", _secs(seconds))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


# ---- ITF --------------------------------------------------------------------------------

def _itf_value(v: int) -> object:
    """An ITF integer: always `{"#bigint": "..."}` (ADR-015; JSON numbers are for `#meta` only)."""
    return {"#bigint": str(v)}


def itf_traces(report: Report) -> list[dict[str, object]]:
    """One ITF trace object per violated check of this report (checks without raw states are left out).

    State i is the state after step i (state 0 is the initial state); its `#meta`
    names that step. For a lasso, `loop` is the index of the state where the loop
    starts, and the last state equals that state (the loop is closed, as in
    Apalache's lassos).
    """
    out: list[dict[str, object]] = []
    for c in report.checks:
        if c.status != VIOLATED or not c.states:
            continue
        names = list(c.states[0])
        states: list[dict[str, object]] = []
        for i, s in enumerate(c.states):
            meta: dict[str, object] = {"index": i}
            if 1 <= i <= len(c.trace):
                step = c.trace[i - 1]
                meta["action"] = f"{step.context}: {step.action}"
                if step.line:
                    meta["line"] = step.line
            state: dict[str, object] = {"#meta": meta}
            state.update((n, _itf_value(s[n])) for n in names)
            states.append(state)
        doc: dict[str, object] = {
            "#meta": {"format": "ITF", "format-description": ITF_DESCRIPTION,
                      "description": f"ircheck {__version__}: {c.name} violated: {c.message}",
                      "source": report.model, "check": c.name},
            "vars": names, "states": states}
        if c.loop_start is not None:
            doc["loop"] = c.loop_start - 1  # step numbers count from 1; step k leaves state k-1
        out.append(doc)
    return out


def itf_doc(reports: Sequence[Report]) -> str:
    """One model with one violated check: its trace object; otherwise a JSON list of them."""
    traces = [t for r in reports for t in itf_traces(r)]
    return json.dumps(traces[0] if len(reports) == 1 and len(traces) == 1 else traces, indent=2)


def itf(report: Report) -> str:
    return itf_doc([report])
