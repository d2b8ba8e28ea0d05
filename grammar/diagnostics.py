"""Coded diagnostics: errors are values with a code and a location.

Every phase (parse, resolve, lower) returns or raises these, never bare strings,
so the CLI can print `file:line:col: IRQ012 ...` with the source line and a
caret, and `--format json` can list them. The codes are stable: tests and users
grep for them.

Code ranges: IRQ0xx syntax, IRQ1xx names, IRQ2xx hardware well-formedness,
IRQ3xx code contexts, IRQ4xx checks, IRQ9xx not supported yet.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}


def shown_path(path: str) -> str:
    """A file path as one safe token of line-oriented output: unchanged when every character is
    printable, else in double quotes with escapes (`\\n`, `\\t`, `\\"`, `\\\\`, `\\uXXXX`),
    so that a newline or a control character in a file name cannot forge a line of the report."""
    if path.isprintable():
        return path
    out = []
    for ch in path:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


LONG_LINE = 1000  # a source line longer than this is shown as a window of SHOWN_LINE characters
SHOWN_LINE = 120


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    path: str = "<string>"
    line: int = 0
    column: int = 0
    hint: str = ""

    def location(self) -> str:
        if self.line:
            return f"{shown_path(self.path)}:{self.line}:{self.column}"
        return shown_path(self.path)

    def render(self, source: str = "") -> str:
        """The human form: location, code, message, the source line with a caret, the hint."""
        out = [f"{self.location()}: error {self.code}: {self.message}"]
        lines = source.splitlines()
        if source and 0 < self.line <= len(lines):
            text = lines[self.line - 1].replace("\t", " ")
            caret = max(self.column - 1, 0)
            if len(text) > LONG_LINE:  # a window around the column, so a huge line stays readable
                start = max(0, min(caret - SHOWN_LINE // 2, len(text) - SHOWN_LINE))
                head, tail = ("..." if start else ""), ("..." if start + SHOWN_LINE < len(text) else "")
                text = head + text[start:start + SHOWN_LINE] + tail
                caret += len(head) - start
            out.append(f"    {text}")
            out.append("    " + " " * caret + "^")
        if self.hint:
            out.append(f"    hint: {self.hint}")
        return "\n".join(out)

    def to_json(self) -> dict[str, object]:
        d: dict[str, object] = {"code": self.code, "message": self.message,
                                "line": self.line, "column": self.column}
        if self.hint:
            d["hint"] = self.hint
        return d


class IrcheckError(Exception):
    """Raised when input is wrong; carries every diagnostic found so far."""

    def __init__(self, diagnostics: list[Diagnostic], source: str = "") -> None:
        self.diagnostics = diagnostics
        self.source = source
        super().__init__("\n".join(d.render() for d in diagnostics))

    def render(self) -> str:
        return "\n".join(d.render(self.source) for d in self.diagnostics)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A "did you mean 'x'?" suffix, or "" when nothing is close enough."""
    close = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
