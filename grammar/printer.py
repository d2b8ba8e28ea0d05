"""AST -> canonical `.irq` text, one statement or expression at a time.

Used to label transitions ("if not rx_ready", "eoi master.3") so traces quote
the model in its own words.
"""

from __future__ import annotations

import re

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
    """An expression as the model wrote it, for trace labels (a bare `in_service` included)."""
    return _cond(e, labels=True)


def stmt_head(st: ast.Stmt) -> str:
    """The statement as written, without nested blocks (`if not rx_ready`, `eoi master.3`)."""
    if isinstance(st, ast.Simple):
        return _simple(st)
    if isinstance(st, ast.If):
        return f"if {expr_text(st.cond)}"
    if isinstance(st, ast.While):
        return f"while {expr_text(st.cond)}"
    if isinstance(st, ast.Loop):
        return "loop"
    if isinstance(st, ast.Choose):
        return "choose"
    if isinstance(st, ast.ReadSeq):
        return f"{st.op} {st.seq.name}"
    if isinstance(st, ast.Wait):
        return f"{st.op} {st.queue.name} until {expr_text(st.cond)}"
    raise TypeError(type(st).__name__)


# ---- whole models ------------------------------------------------------------------
#
# `model_text` is the canonical pretty-printer: `parse(model_text(m)).decls == m.decls`
# for every model the parser can produce. Unlike `expr_text` (which labels trace steps
# and may drop redundant-looking parentheses), it keeps every grouping that changes
# the tree, e.g. `(a + b) - c`. An AST that no text can produce (a lone `trigger`
# setting, `in_service` inside an expression, a negative number) raises ValueError.

_INDENT = "    "


def _bad(what: str) -> ValueError:
    return ValueError(f"model_text: {what} has no .irq spelling")


def _num(v: int, style: str = "dec") -> str:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise _bad(f"number {v!r}")
    if style == "hex":
        return f"{v:#x}"
    if style == "bin":
        return f"0b{v:08b}"
    return str(v)


def _expr(e: ast.Expr, labels: bool = False) -> str:
    """Canonical expression text that parses back to the same tree: every operand the parser
    would regroup keeps its parentheses. `labels` relaxes what only `model_text` must refuse."""

    def sub(x: ast.Expr, min_prec: int) -> str:
        t = _expr(x, labels)
        return f"({t})" if _prec(x) < min_prec else t

    if isinstance(e, ast.Name):
        return e.name
    if isinstance(e, ast.Num):
        return _num(e.value)
    if isinstance(e, ast.Bool):
        return "true" if e.value else "false"
    if isinstance(e, ast.IrqCount):
        what = e.what.name if isinstance(e.what, ast.Name) else _num(e.what.value)
        return f"{e.fn}({what}" + (f", {e.cpu.name}" if e.cpu is not None else "") + ")"
    if isinstance(e, ast.InService):
        if labels:
            return "in_service"
        raise _bad("`in_service` inside an expression (only a whole if/while condition)")
    if isinstance(e, ast.Woken):
        if labels:
            return "woken"
        raise _bad("`woken` inside an expression (only a whole if/while condition, or its `not`)")
    if isinstance(e, ast.AtomicTest):
        if labels:
            return f"{e.op} {e.arg.name}"
        raise _bad(f"`{e.op}` inside an expression (only a whole if/while condition, or its `not`)")
    if isinstance(e, ast.Not):
        return "not " + sub(e.arg, _PREC["not"])
    if isinstance(e, ast.BoolOp):
        if e.op not in ("and", "or") or len(e.args) < 2:
            raise _bad(f"BoolOp {e.op!r} with {len(e.args)} operand(s)")
        return f" {e.op} ".join(sub(a, _PREC[e.op] + 1) for a in e.args)
    if isinstance(e, ast.Compare):
        if e.op not in ("<", "<=", "==", "!=", ">=", ">"):
            raise _bad(f"comparison {e.op!r}")
        return f"{sub(e.left, _PREC['sum'])} {e.op} {sub(e.right, _PREC['sum'])}"
    if isinstance(e, ast.Arith):
        if len(e.args) < 2 or len(e.ops) != len(e.args) - 1 or any(o not in ("+", "-") for o in e.ops):
            raise _bad(f"Arith {e.ops!r} over {len(e.args)} operand(s)")
        # `sum_expr: atom (ADDOP atom)*`: every operand, the first included, is an atom;
        # a nested sum on the left must keep its parentheses or it would be flattened.
        out = sub(e.args[0], _PREC["atom"])
        for op, a in zip(e.ops, e.args[1:], strict=True):
            out += f" {op} {sub(a, _PREC['atom'])}"
        return out
    raise TypeError(type(e).__name__)


def _cond(e: ast.Expr, labels: bool = False) -> str:
    """A whole if/while condition: `in_service`, an atomic conditional and its `not` are only
    spelled here."""
    if isinstance(e, ast.InService):
        return "in_service"
    if isinstance(e, ast.Woken):
        return "woken"
    if isinstance(e, ast.Not) and isinstance(e.arg, ast.Woken):
        return "not woken"
    atomic = ast.atomic_test(e)
    if atomic is not None:
        return ("not " if atomic[1] else "") + f"{atomic[0].op} {atomic[0].arg.name}"
    return _expr(e, labels)


def _simple(st: ast.Simple) -> str:
    a = st.arg
    if a is None:
        return st.op
    if isinstance(a, ast.Num):
        return f"{st.op} {_num(a.value, 'hex' if st.op == 'int' else 'dec')}"
    if isinstance(a, ast.LineRef):
        return f"{st.op} {a.pic}.{_num(a.input)}"
    return f"{st.op} {a.name}" + (f" on {st.on.name}" if st.on is not None else "")


def _block(head: str, body: tuple[ast.Stmt, ...], depth: int) -> list[str]:
    """`head {`, the body one level deeper, `}` (or `head { }` when empty)."""
    pad = _INDENT * depth
    if not body:
        return [f"{pad}{head} {{ }}"]
    out = [f"{pad}{head} {{"]
    for st in body:
        out.extend(_stmt_lines(st, depth + 1))
    out.append(f"{pad}}}")
    return out


def _stmt_lines(st: ast.Stmt, depth: int) -> list[str]:
    pad = _INDENT * depth
    if isinstance(st, ast.Simple):
        return [pad + _simple(st)]
    if isinstance(st, ast.Wait):
        return [f"{pad}{st.op} {st.queue.name} until {_expr(st.cond)}"]
    if isinstance(st, ast.Loop):
        return _block("loop", st.body, depth)
    if isinstance(st, ast.ReadSeq):
        return _block(f"{st.op} {st.seq.name}", st.body, depth)
    if isinstance(st, ast.While):
        return _block(f"while {_cond(st.cond)}", st.body, depth)
    if isinstance(st, ast.Choose):
        if len(st.branches) < 2:
            raise _bad(f"choose with {len(st.branches)} branch(es)")
        lines = _block("choose", st.branches[0], depth)
        for branch in st.branches[1:]:
            more = _block("", branch, depth)
            lines[-1] += " or " + more[0].lstrip()
            lines.extend(more[1:])
        return lines
    if isinstance(st, ast.If):
        lines = _block(f"if {_cond(st.cond)}", st.then, depth)
        orelse = st.orelse
        while orelse:
            if len(orelse) == 1 and isinstance(orelse[0], ast.If):  # `else if` chain
                nxt = orelse[0]
                more = _block(f"if {_cond(nxt.cond)}", nxt.then, depth)
                orelse = nxt.orelse
            else:
                more = _block("", orelse, depth)
                orelse = ()
            lines[-1] += " else " + more[0].lstrip()
            lines.extend(more[1:])
        return lines
    raise TypeError(type(st).__name__)


def _setting_value(s: ast.Setting) -> str:
    v = s.value
    if isinstance(v, ast.LineRef):
        return f"{v.pic}.{_num(v.input)}"
    if isinstance(v, int):
        return _num(v, "hex" if s.key in ("base", "mask", "vector") else "dec")
    if isinstance(v, str):
        return v
    raise _bad(f"setting {s.key!r} without a value")


_PIC_KEYS = ("base", "mode", "eoi", "rotate", "mask", "cascade")
_FLAG_KEYS = {"nmi": "nmi", "msi": "msi", "msix": "msix", "raises_any": "raises any", "shared": "shared", "may_drop": "may_drop",
              "on_kick": "on_kick", "oneshot": "oneshot", "reentrant": "reentrant", "nonreentrant": "nonreentrant",
              "soft": "soft"}


def _settings(settings: tuple[ast.Setting, ...], allowed: tuple[str, ...]) -> list[str]:
    """One word group per setting; a `trigger` folds into the `irq`/`vector` before it."""
    out: list[str] = []
    prev = ""
    for s in settings:
        if s.key not in allowed:
            raise _bad(f"setting {s.key!r} here")
        if s.key == "trigger":
            if prev not in ("irq", "vector") or s.value not in ("edge", "level"):
                raise _bad(f"trigger {s.value!r} not right after an irq/vector setting")
            out[-1] += f" {s.value}"
        elif s.key in _FLAG_KEYS:
            out.append(_FLAG_KEYS[s.key])
        elif s.key == "vector":
            out.append(f"irq vector {_setting_value(s)}")
        elif s.key == "pin_vector":
            out.append(f"vector {_setting_value(s)}")
        else:
            out.append(f"{s.key} {_setting_value(s)}")
        prev = s.key
    return out


def _braced(words: list[str]) -> str:
    return "{ " + "  ".join(words) + " }" if words else "{ }"


def decl_text(d: ast.Decl) -> str:
    """One declaration in canonical form (several lines for idt and code contexts)."""
    if isinstance(d, ast.System):
        return f"system {d.name}"
    if isinstance(d, ast.Cpus):
        return f"cpus {_num(d.count)}"
    if isinstance(d, ast.Pic):
        return f"pic {d.name} : {d.chip} {_braced(_settings(d.settings, _PIC_KEYS))}"
    if isinstance(d, ast.Apic):
        words = _settings(d.settings, ("tpr",))
        return f"apic {d.name} {_braced(words)}" if words else f"apic {d.name}"
    if isinstance(d, ast.IoApic):
        return f"ioapic {d.name} {_braced(_settings(d.settings, ('pins',)))}"
    if isinstance(d, ast.Device):
        keys = ("irq", "vector", "trigger", "nmi", "msi", "msix", "pin_vector", "raises", "raises_any", "shared", "may_drop", "on_kick", "on")
        return f"device {d.name} {_braced(_settings(d.settings, keys))}"
    if isinstance(d, ast.Idt):
        if not d.entries:
            return "idt { }"
        rows = [f"{_INDENT}{_num(e.vector, 'hex')} -> {e.handler.name} {e.gate} dpl {_num(e.dpl)}"
                for e in d.entries]
        return "\n".join(["idt {", *rows, "}"])
    if isinstance(d, ast.RequestIrq):
        words = _settings(d.options, ("shared", "dev_id", "thread", "oneshot"))
        irq = d.source.name if d.source is not None else _num(d.irq)
        return " ".join([f"request_irq {irq} {d.handler.name}", *words])
    if isinstance(d, ast.Object):
        return _object_text(d)
    if isinstance(d, ast.Probe):
        return f"probe {d.name} for {d.device.name}"
    if isinstance(d, ast.Code):
        words = _settings(d.options, ("reentrant", "nonreentrant", "on", "cpl", "soft"))
        return "\n".join(_block(" ".join([d.kind, d.name, *words]), d.body, 0))
    if isinstance(d, ast.Check):
        if not d.items:
            raise _bad("an empty check")
        items = []
        for it in d.items:
            if it.name == "invariant":
                if it.arg is None or isinstance(it.arg, int):
                    raise _bad("an invariant without an expression")
                items.append(f"invariant {_expr(it.arg)}")
            elif isinstance(it.arg, int):
                items.append(f"{it.name} {_num(it.arg)}")
            elif it.arg is None:
                items.append(it.name)
            else:
                raise _bad(f"check {it.name!r} with an expression")
        return "check " + ", ".join(items)
    raise TypeError(type(d).__name__)


def _object_text(d: ast.Object) -> str:
    if d.kind == "percpu" and not d.init and d.max is None:
        return f"percpu data {d.name}"
    if d.kind == "flag":
        if d.max != 1 or d.init not in (0, 1):
            raise _bad(f"flag with init {d.init} max {d.max}")
        return f"flag {d.name} = true" if d.init else f"flag {d.name}"
    if d.kind == "counter":
        out = f"counter {d.name}"
        if d.init:
            out += f" = {_num(d.init)}"
        if d.max is not None:
            out += f" max {_num(d.max)}"
        return out
    if d.init or d.max is not None:
        raise _bad(f"{d.kind} with init {d.init} max {d.max}")
    return f"{d.kind} {d.name}"


def model_text(model: ast.Model) -> str:
    """The whole model in canonical form; code contexts and the idt get blank lines around them."""
    out: list[str] = []
    prev_multi = False
    decls = model.decls
    for i, d in enumerate(decls):
        text = decl_text(d)
        if isinstance(d, ast.RequestIrq) and i + 1 < len(decls):
            nxt = decls[i + 1]
            if isinstance(nxt, ast.Code) and nxt.kind == "thread":
                # `request_irq ... thread T` vs a following `thread` context: the LALR
                # parser shifts `thread` into the request_irq options, so end it with `;`.
                text += ";"
        multi = "\n" in text or isinstance(d, ast.Code)
        if out and (multi or prev_multi):
            out.append("")
        out.append(text)
        prev_multi = multi
    return "\n".join(out) + "\n" if out else ""


# ---- layout-preserving formatting (`ircheck fmt`) ---------------------------------------
#
# `format_source` is what `ircheck fmt` writes. Like gofmt it keeps the author's line structure and
# every comment, and makes the rest canonical:
# - a line is indented 4 spaces per open `{`; a line inside a block whose `{` is followed by more
#   text on its own line lines up with that text (`idt { 0x20 -> a ...` / `      0x21 -> b ...`);
#   a line that starts with `}` is indented like the line that opened the block;
# - between two tokens on a line: one space, or the author's run of two or more (column alignment,
#   and the two spaces that separate settings); none around `.` and inside `( )`, none before `;`
#   and `,`, nor between a function's name and its `(`; at least two spaces before an end-of-line comment;
# - trailing blanks go, runs of blank lines become one, none at the start or the end of the file.
# The tokens themselves are never changed, so the model reads back as the same tree.

FUNCTIONS = ("irqs",)  # a call's `(` follows its name with no space: `irqs(nic, cpu1)` (C1)

_TOKEN = re.compile(r"#[^\n]*|0[xX][0-9a-fA-F]+|0[bB][01]+|[A-Za-z0-9_]+|->|<=|>=|==|!=|\S")


def _gap(a: str, b: str, original: str) -> str:
    if b.startswith("#"):
        run = original.replace("\t", " ")
        return run if len(run) >= 2 else "  "
    if a == "." or b == "." or a == "(" or b == ")" or b in (";", ",") or (b == "(" and a in FUNCTIONS):
        return ""
    run = original.replace("\t", " ")
    return run if len(run) >= 2 else " "


def format_source(source: str) -> str:
    """The source in canonical layout (see above); comments and blank-line grouping are kept."""
    if source.startswith("\ufeff"):
        source = source[1:]
    out: list[str] = []
    stack: list[tuple[int, int | None]] = []  # per open `{`: (indent of its line, inner indent or None: +4)
    blank = False
    for raw in re.split(r"\r\n|\r|\n", source):
        toks = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(raw)]
        if not toks:
            blank = bool(out)
            continue
        if blank:
            out.append("")
            blank = False
        if toks[0][0] == "}" and stack:
            indent = stack[-1][0]
        elif stack:
            opener, inner = stack[-1]
            indent = inner if inner is not None else opener + len(_INDENT)
        else:
            indent = 0
        line = " " * indent
        prev_end = None
        pending_open: list[int] = []  # indexes into `stack` of braces opened on this line, awaiting text
        for k, (tok, start, end) in enumerate(toks):
            if prev_end is not None:
                line += _gap(toks[k - 1][0], tok, raw[prev_end:start])
            if pending_open and not tok.startswith("#"):
                for i in pending_open:
                    stack[i] = (stack[i][0], len(line))
                pending_open = []
            line += tok
            prev_end = end
            if tok == "{":
                stack.append((indent, None))
                pending_open.append(len(stack) - 1)
            elif tok == "}" and stack:
                stack.pop()
                pending_open = [i for i in pending_open if i < len(stack)]
        out.append(line.rstrip())
    return "\n".join(out) + "\n" if out else ""


def comments(source: str) -> list[str]:
    """The text of every comment in a source, in order (for checking that formatting kept them)."""
    return [m.group().rstrip() for m in _TOKEN.finditer(source) if m.group().startswith("#")]
