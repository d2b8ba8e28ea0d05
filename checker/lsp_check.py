"""What the language server reports: front-end errors, check results, repairs and formatting, as
protocol values (lsprotocol types), computed by the same functions as the command line.

Positions: ircheck counts 1-based lines and 1-based code-point columns; the protocol counts 0-based
lines and UTF-16 code units (`utf16`). A diagnostic's range covers the name or number at its
column, else the one character there; a diagnostic without a line (line 0) sits at the start of the
file; a report item with a line but no column covers its whole line.

The rules of the check on save (`run_check`): `check_source` with the explicit engine under
`MAX_STATES` states and `TIMEOUT` seconds, then, when a check is violated, `suggest` under
`SUGGEST_TIMEOUT` seconds in all; a newer edit of the document stops it (`superseded`). Each violated check is an error at its violation's line (the
check's `line`, else the last step's) whose related information is its counterexample, one entry
per step at the line the step executes; an inconclusive check is a warning at its `check` line (or
line 1) saying why; the report's warnings (something can never happen, a vacuous check) are
warnings at their lines.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from lsprotocol import types

from ircheck.api import check_source
from ircheck.grammar.diagnostics import Diagnostic, IrcheckError
from ircheck.grammar.parser import parse
from ircheck.lsp_symbols import tokens
from ircheck.result import INCONCLUSIVE, VIOLATED, CheckResult, Report
from ircheck.spec.resolve import resolve
from ircheck.suggest import Fix, suggest
from ircheck.tools import FormatChanged, canonical

SOURCE = "ircheck"
MAX_STATES = 200_000
TIMEOUT = 10.0
SUGGEST_TIMEOUT = 20.0
_WORD = re.compile(r"[A-Za-z0-9_]+")


def utf16(text: str, column: int) -> int:
    """The UTF-16 offset of code-point column `column` (0-based) of a line."""
    return len(text[:column].encode("utf-16-le")) // 2


def position(lines: list[str], line: int, column: int) -> types.Position:
    """The protocol position of 0-based (line, code-point column)."""
    text = lines[line] if 0 <= line < len(lines) else ""
    return types.Position(line=line, character=utf16(text, column))


def code_points(lines: list[str], pos: types.Position) -> tuple[int, int]:
    """The 0-based (line, code-point column) of a protocol position."""
    text = lines[pos.line] if 0 <= pos.line < len(lines) else ""
    units = 0
    for i, ch in enumerate(text):
        if units >= pos.character:
            return pos.line, i
        units += len(ch.encode("utf-16-le")) // 2
    return pos.line, len(text)


def span(lines: list[str], line: int, start: int, end: int) -> types.Range:
    return types.Range(start=position(lines, line, start), end=position(lines, line, end))


def item_range(lines: list[str], line: int, column: int) -> types.Range:
    """The range of a diagnostic at 1-based `line`, `column` (see the module docstring)."""
    if line <= 0:
        return span(lines, 0, 0, 0)
    text = lines[line - 1] if line <= len(lines) else ""
    if column <= 0:
        return span(lines, line - 1, len(text) - len(text.lstrip()), len(text.rstrip()))
    m = _WORD.match(text, column - 1)
    return span(lines, line - 1, column - 1, m.end() if m else min(column, len(text)))


def error_diagnostic(d: Diagnostic, lines: list[str]) -> types.Diagnostic:
    """A coded error: its code, message and hint (on a line of its own)."""
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    return types.Diagnostic(range=item_range(lines, d.line, d.column), message=message,
                            severity=types.DiagnosticSeverity.Error, code=d.code, source=SOURCE)


def front_end(source: str, path: str) -> list[types.Diagnostic]:
    """Diagnostics as you type: the parser's and the resolver's coded errors, none when it resolves."""
    lines = source.splitlines()
    try:
        resolve(parse(source, path))
    except IrcheckError as e:
        return [error_diagnostic(d, lines) for d in e.diagnostics]
    return []


@dataclass
class Checked:
    """One run of the check on save: the report, the repairs that make every check hold, and the
    version of the document it was computed for."""

    version: int | None
    report: Report
    fixes: list[Fix] = field(default_factory=list)


def run_check(source: str, path: str, version: int | None, superseded: Callable[[], bool]) -> Checked | None:
    """The check on save under the short budget, and the repairs when a check is violated; None as
    soon as `superseded()` says a newer edit made it pointless: the search asks at each of its
    progress reports and stops the way Ctrl-C stops it, and the repairs are not searched."""
    def progress(states: int, depth: int, seconds: float) -> None:
        if superseded():
            raise KeyboardInterrupt

    try:
        report = check_source(source, path, engine="explicit", max_states=MAX_STATES, timeout=TIMEOUT,
                              progress=progress)
    except KeyboardInterrupt:  # stopped outside the search (the lowering): not a result
        return None
    if superseded():
        return None
    fixes: list[Fix] = []
    if report.verdict == VIOLATED:
        fixes = suggest(source, path, original=report, max_states=MAX_STATES, timeout=TIMEOUT,
                        total_timeout=SUGGEST_TIMEOUT).fixes
    return Checked(version, report, fixes)


def _check_line(source: str) -> int:
    """The 1-based line of the first `check` declaration (outside braces), else 1."""
    return next((t.line + 1 for t in tokens(source) if t.text == "check" and t.depth == 0), 1)


def _violation(c: CheckResult, uri: str, lines: list[str]) -> types.Diagnostic:
    line = c.line or (c.trace[-1].line if c.trace else 0)
    related = [types.DiagnosticRelatedInformation(
        location=types.Location(uri=uri, range=item_range(lines, s.line, 0)),
        message=f"step {s.number}: {s.context}: {s.action}" + (f" <- {s.note}" if s.note else ""))
        for s in c.trace]
    if c.blocked is not None:  # a deadlock: the acquisition that never proceeds
        related.append(types.DiagnosticRelatedInformation(
            location=types.Location(uri=uri, range=item_range(lines, c.blocked.line, 0)),
            message=f"blocked: {c.blocked.context}: {c.blocked.action} (never proceeds) <- violation"))
    return types.Diagnostic(range=item_range(lines, line, 0), message=f"{c.name} violated: {c.message}",
                            severity=types.DiagnosticSeverity.Error, code=c.name, source=SOURCE,
                            related_information=related or None)


def check_diagnostics(checked: Checked, uri: str, source: str) -> list[types.Diagnostic]:
    """The check on save as diagnostics (see the module docstring); bad input gives its errors."""
    lines = source.splitlines()
    report = checked.report
    if report.errors:
        return [error_diagnostic(d, lines) for d in report.errors]
    out: list[types.Diagnostic] = []
    for c in report.checks:
        if c.status == VIOLATED:
            out.append(_violation(c, uri, lines))
        elif c.status == INCONCLUSIVE:
            out.append(types.Diagnostic(range=item_range(lines, _check_line(source), 0),
                                        message=f"{c.name} inconclusive: {c.note}",
                                        severity=types.DiagnosticSeverity.Warning, code=c.name, source=SOURCE))
    for w in report.warnings:
        out.append(types.Diagnostic(range=item_range(lines, w.line, 0), message=w.message,
                                    severity=types.DiagnosticSeverity.Warning, code=w.kind, source=SOURCE))
    return out


def _line_start(before: str, lines: list[str], i: int) -> types.Position:
    """The position where line `i` of `before` starts; past its last line, the end of the text."""
    if i < len(lines) or not lines or before.endswith("\n"):
        return position(lines, i, 0)
    return position(lines, len(lines) - 1, len(lines[-1]))


def text_edits(before: str, after: str) -> list[types.TextEdit]:
    """The edits that turn `before` into `after`: one per changed run of lines (difflib's opcodes)."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    lines = before.splitlines()
    return [types.TextEdit(range=types.Range(start=_line_start(before, lines, i1), end=_line_start(before, lines, i2)),
                           new_text="".join(new[j1:j2]))
            for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
            if tag != "equal"]


def fix_actions(checked: Checked, uri: str, source: str, diagnostics: list[types.Diagnostic],
                where: types.Range) -> list[types.CodeAction]:
    """Each repair `--suggest` found as a quick fix: a workspace edit of the document, attached to the
    violated checks' diagnostics; the first (the smallest) is preferred. Offered where the editor asks
    (`where`) only when those lines hold a violated check's diagnostic or a line the repairs change."""
    names = {c.name for c in checked.report.checks if c.status == VIOLATED}
    violated = [d for d in diagnostics if d.source == SOURCE and d.code in names]
    lines = {ln for d in violated for ln in range(d.range.start.line, d.range.end.line + 1)}
    lines |= {c.line - 1 for f in checked.fixes for c in f.repairs}
    if not lines & set(range(where.start.line, where.end.line + 1)):
        return []
    return [types.CodeAction(title=f"ircheck: {f.description}", kind=types.CodeActionKind.QuickFix,
                             diagnostics=violated or None, is_preferred=i == 0,
                             edit=types.WorkspaceEdit(changes={uri: text_edits(source, f.source)}))
            for i, f in enumerate(checked.fixes)]


def format_edits(source: str, path: str) -> list[types.TextEdit] | None:
    """`ircheck fmt` as edits (none when already canonical); None when the text does not parse or
    formatting would change the model or its comments."""
    try:
        return text_edits(source, canonical(source, path))
    except (IrcheckError, FormatChanged):
        return None
