"""Lark's syntax errors -> `Diagnostic`s in words: what was expected (keyword groups named "a
statement" / "a declaration" from spec/language.py), "did you mean" for a misspelt keyword, the
block a missing `}` left open, and `irq PIC.N` for a number after a device's `irq`.
"""

from __future__ import annotations

import re

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ircheck.grammar.diagnostics import Diagnostic, did_you_mean
from ircheck.grammar.lalr import keywords, lalr_parser
from ircheck.spec.language import DECLARATION_KEYWORDS, STATEMENT_KEYWORDS

STATEMENT_WORDS = STATEMENT_KEYWORDS | {"if", "while", "loop", "choose"}
DECL_WORDS = DECLARATION_KEYWORDS

_WORDS = {
    "NAME": "a name", "DEC": "a number", "HEX": "a number", "BIN": "a number",
    "$END": "end of file", "CMPOP": "a comparison", "ADDOP": "'+' or '-'",
}


def _describe_expected(expected: set[str]) -> tuple[str, list[str]]:
    """Words for lark's expected-terminal set, and the keywords in it (for did-you-mean)."""
    lits = {t.name: t.pattern.value for t in lalr_parser().terminals}
    words: set[str] = set()
    kws: list[str] = []
    for name in expected:
        if name in _WORDS:
            words.add(_WORDS[name])
        elif name in lits:
            v = str(lits[name])
            words.add(f"'{v}'")
            if v.replace("_", "").isalpha():
                kws.append(v)
        else:
            words.add(name.lower())
    for group, kws_of_group in (("a statement", STATEMENT_WORDS), ("a declaration", DECL_WORDS)):
        quoted = {f"'{k}'" for k in kws_of_group}
        if len(words & quoted) >= 5:
            words = (words - quoted) | {group}
    ordered = sorted(words, key=lambda w: (not w.startswith("a "), w))
    if len(ordered) > 12:
        ordered = ordered[:12] + [f"... ({len(words) - 12} more)"]
    return ", ".join(ordered), kws


def _end_of(source: str) -> tuple[int, int]:
    """Line and column just past the last non-blank character."""
    text = source.rstrip()
    line = text.count("\n") + 1
    return line, len(text) - (text.rfind("\n") + 1) + 1


def _eof_hint(source: str) -> str:
    blocks = open_blocks(source, 1 << 30, 0)
    return _unclosed(blocks) if blocks else ""


def open_blocks(source: str, line: int, column: int) -> list[tuple[str, int]]:
    """The blocks still open before `line:column` (outermost first): what opened each (`handler h`,
    `if x`) and the line of its `{`. Comments are skipped."""
    stack: list[tuple[str, int]] = []
    for n, text in enumerate(source.splitlines(), start=1):
        if n > line:
            break
        code = text.split("#", 1)[0]
        if n == line:
            code = code[: max(column - 1, 0)]
        start = 0
        for i, ch in enumerate(code):
            if ch == "{":
                head = " ".join(re.split(r"[;{}]", code[start:i])[-1].split())
                stack.append((head[:40] or "block", n))
                start = i + 1
            elif ch == "}":
                if stack:
                    stack.pop()
                start = i + 1
            elif ch == ";":
                start = i + 1
    return stack


def _unclosed(blocks: list[tuple[str, int]]) -> str:
    head, line = blocks[-1]
    more = "".join(f"; so is `{h}` (line {n})" for h, n in reversed(blocks[:-1]))
    return f"a '}}' is missing: `{head}` opened at line {line} is not closed{more}"


def _irq_number_hint(source: str, tok: Token) -> str:
    """`irq 3` in a device: the line is a controller input, `irq PIC.N`."""
    lines = source.splitlines()
    if not tok.line or tok.line > len(lines):
        return ""
    before = lines[tok.line - 1][: max((tok.column or 1) - 1, 0)]
    if not re.search(r"(^|[\s{;])irq\s+$", before):
        return ""
    pics = re.findall(r"(?m)^\s*pic\s+([A-Za-z_]\w*)", source)
    return (f"a device's line is a controller input: write `irq PIC.N`, e.g. `irq {pics[0] if pics else 'master'}.{tok}` "
            "(or `irq vector V` for a local APIC)")


def syntax_error(e: UnexpectedInput, path: str, source: str = "") -> Diagnostic:
    line, col = getattr(e, "line", 0) or 0, getattr(e, "column", 0) or 0
    if isinstance(e, UnexpectedCharacters):
        ch = e.char if hasattr(e, "char") else "?"
        return Diagnostic("IRQ001", f"unexpected character {ch!r}", path, line, col,
                          "names are letters, digits and '_'; comments start with '#'")
    if isinstance(e, UnexpectedEOF):
        what, _ = _describe_expected(set(e.expected))
        return Diagnostic("IRQ002", f"unexpected end of file; expected {what}", path, *_end_of(source),
                          _eof_hint(source))
    if isinstance(e, UnexpectedToken):
        tok = e.token
        expected = set(e.expected) if e.expected else set()
        what, kws = _describe_expected(expected)
        if tok.type == "$END":
            return Diagnostic("IRQ002", f"unexpected end of file; expected {what}", path,
                              *_end_of(source), _eof_hint(source))
        if tok.type in ("DEC", "HEX", "BIN") and (irq_hint := _irq_number_hint(source, tok)):
            return Diagnostic("IRQ003", f"unexpected '{tok}' after `irq`; expected a controller input PIC.N", path,
                              tok.line or line, tok.column or col, irq_hint)
        hint = did_you_mean(str(tok), kws)
        if not hint and tok.type == "NAME" and str(tok) in keywords():
            hint = f"'{tok}' is a keyword and cannot be used here"
        blocks = open_blocks(source, tok.line or line, tok.column or col)
        if blocks and not hint:
            first = (source.splitlines()[(tok.line or line) - 1:] or [""])[0].split()
            if first and first[0] in DECL_WORDS:  # a declaration inside a block: a '}' is missing above
                hint = _unclosed(blocks)
        return Diagnostic("IRQ003", f"unexpected '{tok}'; expected {what}", path,
                          tok.line or line, tok.column or col, hint)
    return Diagnostic("IRQ004", str(e).splitlines()[0], path, line, col)
