"""Hover texts and completion items for the language server, from the project's own tables.

Nothing here spells the vocabulary out: statements and declarations come from `spec/language.py`
(their row of the language table), checks from `spec/checks.py` (the check catalogue), and the
rules from docs/semantics.md, read when the server starts:

* a rule is a `### ID Title` heading of docs/semantics.md (`K1 Lock flavours`) and the text under
  it; the rules of a keyword are those whose text quotes it in backticks (`` `spin_lock` `` or
  `` `spin_lock L` ``), in document order, at most `MAX_RULES`; the hover shows the first one's
  `**ircheck:**` paragraph (how the model does it) and names the others;
* the rules of a check are those its row of the table "Which check reports which rule" (section 11)
  links to, the first `MAX_RULES` of them, shown the same way.

docs/semantics.md is found beside the package's source folders (a checkout or an editable install);
when it is not there (a wheel), hovers show the tables' rows alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lsprotocol import types

from ircheck.lsp_symbols import Declared
from ircheck.spec.checks import ALL_CHECKS, BY_NAME, CheckInfo
from ircheck.spec.language import (
    DECLARATION,
    DECLARATIONS,
    STATEMENT,
    STATEMENTS,
    Declaration,
    Flags,
    Statement,
)

SEMANTICS = Path(__file__).resolve().parent.parent / "docs" / "semantics.md"
MAX_RULES = 3
_HEADING = re.compile(r"^### ([A-Z][0-9]+[a-z]?) (.*)$")


@dataclass
class Rules:
    """docs/semantics.md read once: rule id -> (title, text), and check name -> its row of section 11."""

    rules: dict[str, tuple[str, str]] = field(default_factory=dict)
    check_rows: dict[str, str] = field(default_factory=dict)

    def citing(self, keyword: str) -> list[str]:
        """The ids of the rules whose text quotes `keyword` in backticks, in document order."""
        quoted = re.compile("`" + re.escape(keyword) + "[ `]")
        return [rid for rid, (_, text) in self.rules.items() if quoted.search(text)][:MAX_RULES]

    def explain(self, ids: list[str]) -> str:
        """The first rule's heading and its `**ircheck:**` paragraph, then the other rules' headings."""
        if not ids:
            return ""
        title, text = self.rules[ids[0]]
        para = next((p for p in text.split("\n\n") if p.startswith("**ircheck:**")), "")
        out = [f"**{ids[0]} {title}** (docs/semantics.md)"]
        if para:
            out.append(" ".join(para.split()))
        if len(ids) > 1:
            out.append("See also " + ", ".join(f"{i} {self.rules[i][0]}" for i in ids[1:]) + ".")
        return "\n\n".join(out)


@cache
def rules(path: Path = SEMANTICS) -> Rules:
    """docs/semantics.md's rules (empty when the file is not installed)."""
    out = Rules()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return out
    bodies: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        m = _HEADING.match(line)
        if m:
            current = bodies.setdefault(m.group(1), [])
            out.rules[m.group(1)] = (m.group(2), "")
        elif line.startswith("#"):
            current = None
        elif current is not None:
            current.append(line)
        if line.startswith("| `"):  # section 11: | `check`, `check` | rules |
            cells = line.strip("|").split("|")
            for name in re.findall(r"`([a-z_]+)`", cells[0]):
                out.check_rows[name] = " ".join(cells[1].split())
    for rid, body in bodies.items():
        out.rules[rid] = (out.rules[rid][0], "\n".join(body).strip())
    return out


def _flags(f: Flags) -> str:
    return f.value


def statement_row(st: Statement) -> str:
    """A statement's row of the language table, as Markdown lines."""
    rows = [f"acts on: {st.acts_on.value}"]
    if st.operand is not None:
        rows.append(f"operand: a {st.operand.what} ({', '.join(st.operand.kinds)})")
    rows.append(f"may appear in: {st.place.value}; layer: {st.layer.value}; lowered by: `{st.primitive}`")
    if st.lock is not None:
        verb = "takes" if st.lock.acquire else "releases"
        rows.append(f"{verb} a {st.lock.kind} ({st.lock.flavour}); undone by `{st.lock.pair}`")
    if st.irq_flags is not Flags.NONE:
        rows.append(f"IF: {_flags(st.irq_flags)}")
    if st.bh is not Flags.NONE:
        rows.append(f"BH: {_flags(st.bh)}")
    rows.append(f"steps: {st.shape.value}" + ("; **may sleep**" if st.sleeps else ""))
    return "\n".join(f"- {r}" for r in rows)


def statement_hover(st: Statement) -> str:
    head = f"**`{st.keyword}`** statement\n\n{statement_row(st)}"
    rule = rules().explain(rules().citing(st.keyword))
    return head + (f"\n\n{rule}" if rule else "")


def declaration_hover(d: Declaration) -> str:
    what = f"declares a {d.declares}" if d.declares else "declares no name"
    ctx = f"; runs in {d.context} context" if d.context else ""
    rule = rules().explain(rules().citing(d.keyword))
    return f"**`{d.keyword}`** declaration\n\n- {what}{ctx}" + (f"\n\n{rule}" if rule else "")


def check_hover(c: CheckInfo) -> str:
    param = f" {c.param}" if c.param else ""
    on = "on by default" if c.default else "only when named on a `check` line"
    out = f"**check `{c.name}{param}`** ({c.kind.value}, {on})\n\n{c.short}.\n\n{c.full}"
    known = rules()
    ids = [i for i in re.findall(r"\[([A-Z][0-9]+[a-z]?)\]", known.check_rows.get(c.name, "")) if i in known.rules]
    rule = known.explain(ids[:MAX_RULES])
    return out + (f"\n\n{rule}" if rule else "")


def name_hover(d: Declared, line_text: str) -> str:
    """A declared name: its kind and its declaration's line."""
    return f"**{d.name}**: {d.kind} (`{d.declaration.keyword}`, line {d.token.line + 1})\n\n```irq\n{line_text.strip()}\n```"


def hover_text(word: str, declared: dict[str, Declared], lines: list[str]) -> str | None:
    """What `word` means: a declared name first, then a statement, a declaration keyword, a check."""
    if word in declared:
        d = declared[word]
        return name_hover(d, lines[d.token.line] if d.token.line < len(lines) else "")
    if word in STATEMENT:
        return statement_hover(STATEMENT[word])
    if word in DECLARATION:
        return declaration_hover(DECLARATION[word])
    if word in BY_NAME:
        return check_hover(BY_NAME[word])
    return None


# ---- completion -----------------------------------------------------------------------------

def _keyword_item(word: str, detail: str) -> types.CompletionItem:
    return types.CompletionItem(label=word, kind=types.CompletionItemKind.Keyword, detail=detail)


def completions(before: list[str], depth: int, declared: dict[str, Declared]) -> list[types.CompletionItem]:
    """What may come at the cursor, given the whole words before it on its line (`before`) and the
    brace depth there:

    * after a statement keyword whose operand is a declared name: the names of the kinds it accepts;
    * on a line that starts with `check` (outside braces): the check names (catalogue order);
    * else inside braces: the statement keywords (table order), and the declared names;
    * else: the declaration keywords (table order)."""
    if before and before[-1] in STATEMENT:
        operand = STATEMENT[before[-1]].operand
        if operand is not None:
            return [types.CompletionItem(label=d.name, kind=types.CompletionItemKind.Variable, detail=d.kind)
                    for d in declared.values() if d.kind in operand.kinds]
    if before and before[0] == "check" and depth == 0:
        return [types.CompletionItem(label=c, kind=types.CompletionItemKind.EnumMember, detail=BY_NAME[c].short)
                for c in ALL_CHECKS]
    if depth > 0:
        return [_keyword_item(s.keyword, f"statement: {s.acts_on.value}") for s in STATEMENTS] + \
            [types.CompletionItem(label=d.name, kind=types.CompletionItemKind.Variable, detail=d.kind)
             for d in declared.values()]
    return [_keyword_item(d.keyword, "declaration" + (f" of a {d.declares}" if d.declares else ""))
            for d in DECLARATIONS]
