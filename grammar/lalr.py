"""The LALR(1) parser of `.irq` (lark, contextual lexer): grammar/irq.lark with the keyword rules of
statements and declarations appended, generated from the one table of the language
(spec/language.py), and the set of keywords it knows.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lark import Lark

from ircheck.spec.language import Syntax, by_syntax, declared_by

# the grammar rules whose alternatives are the keywords of spec/language.py's table
KEYWORD_RULES: dict[str, tuple[str, ...]] = {
    **{syntax.value: by_syntax(syntax) for syntax in (Syntax.BARE, Syntax.NAME, Syntax.IRQ, Syntax.WAIT, Syntax.TEST,
                                                                        Syntax.SEQ)},
    "objkind": declared_by("objkind"),
    "codekind": declared_by("codekind"),
}


def grammar_text() -> str:
    """irq.lark with the keyword rules (`KEYWORD_RULES`) appended, one `!rule: "kw" | ...` each."""
    text = (Path(__file__).parent / "irq.lark").read_text()
    rules = "".join(f"!{rule}: " + " | ".join(f'"{kw}"' for kw in kws) + "\n" for rule, kws in KEYWORD_RULES.items())
    return text + "\n" + rules


@functools.cache
def lalr_parser() -> Lark:
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False)


def keywords() -> frozenset[str]:
    """Every keyword of the language (used for "did you mean" and by editor support)."""
    out = set()
    for t in lalr_parser().terminals:
        v = getattr(t.pattern, "value", "")
        if t.pattern.type == "str" and v.replace("_", "").isalpha():
            out.add(v)
    return frozenset(out)
