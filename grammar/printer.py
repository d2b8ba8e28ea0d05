"""AST -> canonical `.irq` text, one statement or expression at a time.

Used to label transitions ("if not rx_ready", "eoi master.3") so traces quote
the model in its own words.
"""

from __future__ import annotations

from ircheck.grammar import ast

_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "sum": 5, "atom": 6}


def _prec(e: ast.Expr) -> int:
    if isinstance(e, ast.BoolOp):
        return _PREC[e.op]
    if isinstance(e, ast.Not):
        return _PREC["not"]
    if isinstance(e, ast.Compare):
        return _PREC["cmp"]
    if isinstance(e, ast.Arith):
        return _PREC["sum"]
    return _PREC["atom"]


def expr_text(e: ast.Expr) -> str:
    def sub(x: ast.Expr, min_prec: int) -> str:
        t = expr_text(x)
        return f"({t})" if _prec(x) < min_prec else t

    if isinstance(e, ast.Name):
        return e.name
    if isinstance(e, ast.Num):
        return str(e.value)
    if isinstance(e, ast.Bool):
        return "true" if e.value else "false"
    if isinstance(e, ast.InService):
        return "in_service"
    if isinstance(e, ast.Not):
        return "not " + sub(e.arg, _PREC["not"])
    if isinstance(e, ast.BoolOp):
        return f" {e.op} ".join(sub(a, _PREC[e.op] + 1) for a in e.args)
    if isinstance(e, ast.Compare):
        return f"{sub(e.left, _PREC['sum'])} {e.op} {sub(e.right, _PREC['sum'])}"
    if isinstance(e, ast.Arith):
        out = sub(e.args[0], _PREC["sum"])
        for op, a in zip(e.ops, e.args[1:], strict=True):
            out += f" {op} {sub(a, _PREC['atom'])}"
        return out
    raise TypeError(type(e).__name__)


def stmt_head(st: ast.Stmt) -> str:
    """The statement as written, without nested blocks (`if not rx_ready`, `eoi master.3`)."""
    if isinstance(st, ast.Simple):
        if st.arg is None:
            return st.op
        if isinstance(st.arg, ast.Num):
            return f"{st.op} {st.arg.value:#x}" if st.op in ("int",) else f"{st.op} {st.arg.value}"
        if isinstance(st.arg, ast.LineRef):
            return f"{st.op} {st.arg}"
        return f"{st.op} {st.arg.name}"
    if isinstance(st, ast.If):
        return f"if {expr_text(st.cond)}"
    if isinstance(st, ast.While):
        return f"while {expr_text(st.cond)}"
    if isinstance(st, ast.Loop):
        return "loop"
    if isinstance(st, ast.Wait):
        return f"{st.op} {st.queue.name} until {expr_text(st.cond)}"
    raise TypeError(type(st).__name__)
