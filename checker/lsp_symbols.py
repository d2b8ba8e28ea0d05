"""The language server's view of names in `.irq` text: tokens, declarations, references.

Read lexically, so that it works on text that does not parse yet (the user is typing). The rules:

* a token is a name (`[A-Za-z_][A-Za-z0-9_]*`, the grammar's NAME), a brace, or skipped: comments
  (`#` to the end of the line) and numbers (`0x20`, `0b101`, `12`) are never names;
* a **declaration** is a declaration keyword of `spec/language.py` that introduces a name
  (`Declaration.declares` not empty), outside every brace (depth 0), followed by a name: that name
  token is the definition, of the kind `declares` says. The first declaration of a name wins (a
  second one is resolve's IRQ101 error, shown as a diagnostic);
* a **reference** is every name token spelled like a declared name (the definition included);
* a declaration's extent runs from its keyword to the brace that closes its first `{` before the next
  declaration, or to its name when it has no block.

Lines and columns here are 0-based and count code points; `lsp_check.py` converts them to the
protocol's UTF-16 positions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ircheck.spec.language import DECLARATION, Declaration

_TOKEN = re.compile(r"(?P<skip>#[^\n]*|0[xXbB][0-9a-fA-F]+|[0-9]+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<brace>[{}])|(?P<nl>\n)")


@dataclass(frozen=True)
class Token:
    """A name or a brace: its text, 0-based line, start and end column, and the brace depth before it."""

    text: str
    line: int
    start: int
    end: int
    depth: int

    @property
    def is_name(self) -> bool:
        return self.text not in ("{", "}")


@dataclass(frozen=True)
class Declared:
    """A declared name: its definition token, its declaration keyword (row of the language table),
    and the extent of the whole declaration (start token, end token)."""

    name: str
    token: Token
    declaration: Declaration
    first: Token
    last: Token

    @property
    def kind(self) -> str:
        return self.declaration.declares


def tokens(source: str) -> list[Token]:
    """The names and braces of `source` in order (comments and numbers skipped)."""
    out: list[Token] = []
    line, line_start, depth = 0, 0, 0
    for m in _TOKEN.finditer(source):
        if m.lastgroup == "nl":
            line, line_start = line + 1, m.end()
        elif m.lastgroup == "skip":
            continue
        else:
            text = m.group()
            if text == "}":
                depth = max(depth - 1, 0)
            out.append(Token(text, line, m.start() - line_start, m.end() - line_start, depth))
            if text == "{":
                depth += 1
    return out


def _extent_end(toks: list[Token], i: int) -> Token:
    """The last token of the declaration whose name is toks[i] (see the module docstring)."""
    for j in range(i + 1, len(toks)):
        t = toks[j]
        if t.depth == 0 and t.text in DECLARATION:
            break
        if t.text == "{" and t.depth == 0:
            for k in range(j + 1, len(toks)):
                if toks[k].text == "}" and toks[k].depth == 0:
                    return toks[k]
            return toks[-1]
    return toks[i]


def declarations(toks: list[Token]) -> dict[str, Declared]:
    """Every declared name, in source order, by name (the first declaration of a name wins)."""
    out: dict[str, Declared] = {}
    for i, t in enumerate(toks[:-1]):
        decl = DECLARATION.get(t.text)
        nxt = toks[i + 1]
        if decl is None or not decl.declares or t.depth != 0 or not nxt.is_name or nxt.text in out:
            continue
        out[nxt.text] = Declared(nxt.text, nxt, decl, t, _extent_end(toks, i + 1))
    return out


def token_at(toks: list[Token], line: int, column: int) -> Token | None:
    """The name token that contains (line, column), or ends just before it (the cursor after a word)."""
    for t in toks:
        if t.line == line and t.is_name and t.start <= column <= t.end:
            return t
    return None


def references(toks: list[Token], name: str) -> list[Token]:
    """Every name token spelled `name`, in source order."""
    return [t for t in toks if t.is_name and t.text == name]
