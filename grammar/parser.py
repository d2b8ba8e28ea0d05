"""Text -> `ast.Model`, with friendly syntax errors.

`parse` runs the LALR parser (grammar/lalr.py: irq.lark with its keyword rules generated from
spec/language.py), turns lark's exceptions into `Diagnostic`s that say, in words, what was
expected and, for a misspelt keyword, which one was probably meant (grammar/syntax_errors.py),
and builds the typed tree (grammar/to_ast.py); it refuses huge or too deeply nested input.
`parse_file` reads the file first (grammar/model_files.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedInput

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import Diagnostic, IrcheckError
from ircheck.grammar.lalr import KEYWORD_RULES, grammar_text, keywords, lalr_parser
from ircheck.grammar.model_files import (
    MAX_SOURCE_BYTES,
    decode_model,
    normalise_newlines,
    read_model_bytes,
    too_large,
)
from ircheck.grammar.syntax_errors import open_blocks, syntax_error
from ircheck.grammar.to_ast import ToAst

__all__ = ["KEYWORD_RULES", "MAX_BLOCK_DEPTH", "MAX_SOURCE_BYTES", "decode_model", "grammar_text", "keywords",
           "normalise_newlines", "open_blocks", "parse", "parse_file", "read_model_bytes"]

MAX_BLOCK_DEPTH = 64


def _block_depth(text: str) -> tuple[int, int, int]:
    """Deepest `{` nesting, with the line/col where it first exceeds the limit."""
    depth = best = 0
    line, col = 1, 0
    in_comment = False
    for ch in text:
        col += 1
        if ch == "\n":
            line, col, in_comment = line + 1, 0, False
        elif in_comment:
            continue
        elif ch == "#":
            in_comment = True
        elif ch == "{":
            depth += 1
            if depth > best:
                best = depth
                if best > MAX_BLOCK_DEPTH:
                    return best, line, col
        elif ch == "}":
            depth -= 1
    return best, 0, 0


def parse(text: str, path: str = "<string>") -> ast.Model:
    """Parse `.irq` source; raises IrcheckError (never anything else) on bad input.

    A leading byte-order mark is dropped and every line ending (`\\r\\n`, a lone `\\r`) becomes
    `\\n`: spans (and `Model.source`) refer to that text."""
    if len(text) > MAX_SOURCE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        raise too_large(path)
    text = normalise_newlines(text.removeprefix("\ufeff"))
    depth, dl, dc = _block_depth(text)
    if depth > MAX_BLOCK_DEPTH:
        raise IrcheckError([Diagnostic("IRQ006", f"blocks nested deeper than {MAX_BLOCK_DEPTH}", path, dl, dc,
                                       "split the code into functions")], text)
    try:
        tree: Tree[Token] = lalr_parser().parse(text)
    except UnexpectedInput as e:
        raise IrcheckError([syntax_error(e, path, text)], text) from None
    except (LarkError, RecursionError) as e:  # pragma: no cover - defensive
        raise IrcheckError([Diagnostic("IRQ004", f"cannot parse: {type(e).__name__}", path)], text) from None
    try:
        decls = ToAst().transform(tree)
    except RecursionError:
        raise _too_deep(tree, path, text) from None
    except LarkError as e:
        orig = getattr(e, "orig_exc", e)
        if isinstance(orig, RecursionError):
            raise _too_deep(tree, path, text) from None
        raise IrcheckError([Diagnostic("IRQ004", f"cannot read model: {orig}", path)], text) from None
    diags = []
    for d in decls:
        if isinstance(d, ast.Setting):
            what = {"thread": "thread NAME", "dev_id": "dev_id NAME"}.get(d.key, d.key)
            diags.append(Diagnostic("IRQ009", f"`{what}` outside a request_irq declaration", path,
                                    d.span.line, d.span.column,
                                    "it belongs after `request_irq N HANDLER`" if d.key != "thread"
                                    else "a thread context needs a body: `thread NAME { ... }`"))
        elif isinstance(d, ast.Code):
            deep = _deepest(d.body)
            if deep is not None:
                diags.append(Diagnostic("IRQ006", f"statements nested deeper than {MAX_BLOCK_DEPTH}", path,
                                        deep.line, deep.column, "split the code into functions"))
    if diags:
        raise IrcheckError(diags, text)
    return ast.Model(tuple(decls), path, text)


def _too_deep(tree: Tree[Token], path: str, text: str) -> IrcheckError:
    """IRQ006 for an expression or statement too deep to build, at the first token of the deepest
    part of the syntax tree (walked without recursion)."""
    line, column, best = 1, 1, -1
    work: list[tuple[Any, int]] = [(tree, 0)]
    while work:
        node, depth = work.pop()
        if isinstance(node, Tree):
            work.extend((c, depth + 1) for c in reversed(node.children))
        elif isinstance(node, Token) and depth > best and node.line:
            best, line, column = depth, node.line, node.column or 1
    return IrcheckError([Diagnostic("IRQ006", "model nested too deeply", path, line, column,
                                    "split long expressions, or the code into functions")], text)


def _deepest(body: tuple[ast.Stmt, ...]) -> ast.Span | None:
    """The span of the first statement nested deeper than MAX_BLOCK_DEPTH (counting `else if` chains)."""
    work: list[tuple[tuple[ast.Stmt, ...], int]] = [(body, 1)]
    while work:
        stmts, depth = work.pop()
        for st in stmts:
            if depth > MAX_BLOCK_DEPTH:
                return st.span
            if isinstance(st, ast.If):
                work.append((st.then, depth + 1))
                work.append((st.orelse, depth + 1))
            elif isinstance(st, ast.While | ast.Loop | ast.ReadSeq):
                work.append((st.body, depth + 1))
            elif isinstance(st, ast.Choose):
                work.extend((branch, depth + 1) for branch in st.branches)
    return None


def parse_file(path: str | Path) -> ast.Model:
    """Parse a model file (see `read_model_bytes` and `decode_model`); raises IrcheckError on bad input."""
    return parse(decode_model(read_model_bytes(path), str(path)), str(path))
