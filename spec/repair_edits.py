"""Repairs as text edits (`ircheck --suggest`): an `Edit` replaces a span of the user's source, a
`Candidate` is one repair's edits, `apply_edits`/`combine` make them (refusing overlaps), and
`Source` gives the layout-aware edits the repairs need (replace a word, delete a statement with
its line, insert before/after keeping the indentation, swap two statements). Editing the text
instead of reprinting the AST keeps the user's comments and layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from ircheck.grammar import ast


@dataclass(frozen=True)
class Edit:
    """Replace the source text from (line, col) up to (end_line, end_col), exclusive, with `text`.

    Lines and columns are 1-based, as in `ast.Span` (lark's convention: the end column is the one
    after the last character). An insertion has start == end."""

    line: int
    col: int
    end_line: int
    end_col: int
    text: str


@dataclass(frozen=True)
class Candidate:
    """One repair: a stable key (tests and JSON name it), a one-line description, the line it is
    about in the original source, and the edits that make it."""

    key: str
    description: str
    line: int
    edits: tuple[Edit, ...]


class EditConflict(ValueError):
    """Two edits overlap: the repairs cannot be combined."""


def _offsets(source: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(source):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def apply_edits(source: str, edits: tuple[Edit, ...] | list[Edit]) -> str:
    """The source with every edit made; raises EditConflict if two edits overlap (insertions at the
    same point are made in the order given)."""
    starts = _offsets(source)

    def off(line: int, col: int) -> int:
        if line < 1 or line > len(starts):
            raise EditConflict(f"edit outside the source (line {line})")
        return starts[line - 1] + col - 1

    spans = sorted(((off(e.line, e.col), off(e.end_line, e.end_col), i, e.text) for i, e in enumerate(edits)),
                   key=lambda t: (t[0], t[1], t[2]))
    out: list[str] = []
    pos = 0
    for a, b, _, txt in spans:
        if a < pos:
            raise EditConflict("overlapping edits")
        out.append(source[pos:a])
        out.append(txt)
        pos = b
    out.append(source[pos:])
    return "".join(out)


def combine(source: str, cands: tuple[Candidate, ...]) -> str:
    """The source with every candidate's edits made (raises EditConflict if they touch the same text)."""
    return apply_edits(source, [e for c in cands for e in c.edits])


class Source:
    """The source text with line access, for edits that depend on layout (own line or not)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")

    def line(self, n: int) -> str:
        return self.lines[n - 1] if 1 <= n <= len(self.lines) else ""

    def find(self, span: ast.Span, word: str) -> Edit | None:
        """An edit selecting the first whole `word` inside span (single-line spans and the span's
        first line only: keywords sit there)."""
        text = self.line(span.line)
        stop = span.end_column - 1 if span.end_line == span.line and span.end_column else len(text)
        i = text.find(word, span.column - 1, stop)
        while i >= 0:
            before = text[i - 1] if i > 0 else " "
            after = text[i + len(word)] if i + len(word) < len(text) else " "
            if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
                return Edit(span.line, i + 1, span.line, i + 1 + len(word), word)
            i = text.find(word, i + 1, stop)
        return None

    def replace_word(self, span: ast.Span, old: str, new: str) -> Edit | None:
        e = self.find(span, old)
        return None if e is None else Edit(e.line, e.col, e.end_line, e.end_col, new)

    def indent(self, line: int) -> str:
        t = self.line(line)
        return t[: len(t) - len(t.lstrip())]

    def delete_stmt(self, span: ast.Span) -> Edit:
        """Delete one statement: its whole line when nothing else is on it (a trailing comment goes
        with it), else the statement and the `;` that separates it from its neighbour."""
        first, last = self.line(span.line), self.line(span.end_line)
        before = first[: span.column - 1]
        after = last[span.end_column - 1:]
        rest = after.lstrip().lstrip(";").strip()
        if not before.strip() and (not rest or rest.startswith("#")):
            return Edit(span.line, 1, span.end_line + 1, 1, "")
        j = span.end_column - 1
        k = j
        while k < len(last) and last[k] in " \t":
            k += 1
        if k < len(last) and last[k] == ";":
            k += 1
            while k < len(last) and last[k] in " \t":
                k += 1
            return Edit(span.line, span.column, span.end_line, k + 1, "")
        i = span.column - 1
        m = i
        while m > 0 and first[m - 1] in " \t":
            m -= 1
        if m > 0 and first[m - 1] == ";":
            return Edit(span.line, m, span.end_line, span.end_column, "")
        return Edit(span.line, span.column, span.end_line, span.end_column, "")

    def append(self, code: ast.Code, stmt: str) -> Edit:
        """Insert `stmt` as the last statement of a code body, in the body's own layout."""
        if not code.body:
            # `handler h { }`: put it just before the closing brace
            return Edit(code.end.line, code.end.column, code.end.line, code.end.column, f"{stmt} ")
        last = code.body[-1].span
        if last.end_line == code.end.line:  # `{ a; b }`: same line as the closing brace
            return Edit(last.end_line, last.end_column, last.end_line, last.end_column, f"; {stmt}")
        eol = len(self.line(last.end_line)) + 1
        return Edit(last.end_line, eol, last.end_line, eol, "\n" + self.indent(last.line) + stmt)

    def comment(self, span: ast.Span) -> str:
        """The trailing `# ...` of a statement alone on its line(s), with the spaces before it, or ""
        (a moved statement takes its comment along when it lands on a line of its own)."""
        last = self.line(span.end_line)
        rest = last[span.end_column - 1:]
        if self.line(span.line)[: span.column - 1].strip() or not rest.strip().startswith("#"):
            return ""
        return rest.rstrip()

    def insert_after(self, span: ast.Span, stmt: str, comment: str = "") -> Edit:
        """Insert `stmt` just after a statement, on a line of its own when that statement has one."""
        before = self.line(span.line)[: span.column - 1]
        if not before.strip():
            eol = len(self.line(span.end_line)) + 1
            return Edit(span.end_line, eol, span.end_line, eol, "\n" + self.indent(span.line) + stmt + comment)
        return Edit(span.end_line, span.end_column, span.end_line, span.end_column, f"; {stmt}")

    def insert_before(self, span: ast.Span, stmt: str, comment: str = "") -> Edit:
        """Insert `stmt` just before a statement, on its own line when that statement has one."""
        if not self.line(span.line)[: span.column - 1].strip():
            return Edit(span.line, 1, span.line, 1, self.indent(span.line) + stmt + comment + "\n")
        return Edit(span.line, span.column, span.line, span.column, f"{stmt}; ")


def swap(src: Source, a: ast.Span, b: ast.Span) -> tuple[Edit, Edit] | None:
    """Exchange two one-line statements. When each is alone on its own line, the whole lines swap,
    so each statement keeps its trailing comment; otherwise only the statement texts swap."""
    if a.line != a.end_line or b.line != b.end_line:
        return None

    def alone(sp: ast.Span) -> bool:
        text = src.line(sp.line)
        rest = text[sp.end_column - 1:].strip()
        return not text[: sp.column - 1].strip() and (not rest or rest.startswith("#"))

    if a.line != b.line and alone(a) and alone(b):
        la, lb = src.line(a.line), src.line(b.line)
        ia, ib = len(src.indent(a.line)), len(src.indent(b.line))
        return (Edit(a.line, ia + 1, a.line, len(la) + 1, lb[ib:]), Edit(b.line, ib + 1, b.line, len(lb) + 1, la[ia:]))
    ta = src.line(a.line)[a.column - 1: a.end_column - 1]
    tb = src.line(b.line)[b.column - 1: b.end_column - 1]
    return (Edit(a.line, a.column, a.end_line, a.end_column, tb), Edit(b.line, b.column, b.end_line, b.end_column, ta))
