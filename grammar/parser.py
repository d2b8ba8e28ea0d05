"""Text -> `ast.Model`, with friendly syntax errors.

The grammar (`irq.lark`, with its keyword rules generated from spec/language.py) is LALR with
a contextual lexer; this module turns
lark's exceptions into `Diagnostic`s that say, in words, what was expected and,
for a misspelt keyword, which one was probably meant.
"""

from __future__ import annotations

import codecs
import functools
import os
import re
import stat
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import Diagnostic, IrcheckError, did_you_mean
from ircheck.spec.language import DECLARATION_KEYWORDS, STATEMENT_KEYWORDS, Syntax, by_syntax, declared_by

MAX_SOURCE_BYTES = 4 * 1024 * 1024
MAX_BLOCK_DEPTH = 64


# the grammar rules whose alternatives are the keywords of spec/language.py's table
KEYWORD_RULES: dict[str, tuple[str, ...]] = {
    **{syntax.value: by_syntax(syntax) for syntax in (Syntax.BARE, Syntax.NAME, Syntax.IRQ, Syntax.WAIT)},
    "objkind": declared_by("objkind"),
    "codekind": declared_by("codekind"),
}


def grammar_text() -> str:
    """irq.lark with the keyword rules (`KEYWORD_RULES`) appended, one `!rule: "kw" | ...` each."""
    text = (Path(__file__).parent / "irq.lark").read_text()
    rules = "".join(f"!{rule}: " + " | ".join(f'"{kw}"' for kw in kws) + "\n" for rule, kws in KEYWORD_RULES.items())
    return text + "\n" + rules


@functools.cache
def _parser() -> Lark:
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False)


def keywords() -> frozenset[str]:
    """Every keyword of the language (used for "did you mean" and by editor support)."""
    out = set()
    for t in _parser().terminals:
        v = getattr(t.pattern, "value", "")
        if t.pattern.type == "str" and v.replace("_", "").isalpha():
            out.add(v)
    return frozenset(out)


def _span(meta: Any) -> ast.Span:
    if getattr(meta, "empty", True):
        return ast.NO_SPAN
    return ast.Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _tspan(tok: Token) -> ast.Span:
    return ast.Span(tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0)


def _settings(items: list[Any]) -> tuple[ast.Setting, ...]:
    return tuple(i for i in items if isinstance(i, ast.Setting))


@v_args(meta=True)
class _ToAst(Transformer[Token, Any]):
    """Builds frozen dataclasses; each method is named after a grammar rule or alias."""

    # --- leaves
    def number(self, meta: Any, c: list[Token]) -> ast.Num:
        t = c[0]
        return ast.Num(int(str(t), 0), _tspan(t))

    def bool_lit(self, meta: Any, c: list[Token]) -> ast.Bool:
        return ast.Bool(str(c[0]) == "true", _span(meta))

    def line_ref(self, meta: Any, c: list[Any]) -> ast.LineRef:
        return ast.LineRef(str(c[0]), c[1].value, _span(meta))

    def trigger(self, meta: Any, c: list[Token]) -> str:
        return str(c[0])

    gate = objkind = codekind = waitop = op0 = op1 = irqop = trigger

    # --- top level
    def start(self, meta: Any, c: list[Any]) -> list[Any]:
        """Drop separators; attach request_irq options (items of their own) to the request_irq before them."""
        out: list[Any] = []
        for x in c:
            if isinstance(x, Token | Tree) or x is None:
                continue
            if isinstance(x, ast.Setting):
                prev = out[-1] if out else None
                if isinstance(prev, ast.RequestIrq):
                    out[-1] = ast.RequestIrq(prev.irq, prev.handler, prev.options + (x,), prev.span)
                    continue
            out.append(x)
        return out

    def thread_ref(self, meta: Any, c: list[Token]) -> Token:
        return c[0]

    def thread_decl(self, meta: Any, c: list[Any]) -> ast.Code:
        return self.code_decl(meta, ["thread", *c])

    def system_decl(self, meta: Any, c: list[Token]) -> ast.System:
        return ast.System(str(c[0]), _span(meta))

    def cpus_decl(self, meta: Any, c: list[Any]) -> ast.Cpus:
        return ast.Cpus(c[0].value, _span(meta))

    def _setting(key: str) -> Any:  # type: ignore[misc]
        def build(self: Any, meta: Any, c: list[Any]) -> ast.Setting:
            value: Any = None
            if c:
                v = c[0]
                value = v.value if isinstance(v, ast.Num) else v if isinstance(v, ast.LineRef) else str(v)
            if key in ("irq", "vector") and len(c) > 1:
                return ast.Setting(key, value, _span(meta)), ast.Setting("trigger", str(c[1]), _span(meta))
            return ast.Setting(key, value, _span(meta))
        return build

    pic_base = _setting("base")
    pic_mode = _setting("mode")
    pic_eoi = _setting("eoi")
    pic_rotate = _setting("rotate")
    pic_mask = _setting("mask")
    pic_cascade = _setting("cascade")
    apic_tpr = _setting("tpr")
    dev_irq = _setting("irq")
    dev_vector = _setting("vector")
    dev_nmi = _setting("nmi")
    dev_raises = _setting("raises")
    dev_raises_any = _setting("raises_any")
    dev_shared = _setting("shared")
    dev_may_drop = _setting("may_drop")
    dev_cpu = _setting("on")
    req_shared = _setting("shared")
    req_dev_id = _setting("dev_id")
    req_thread = _setting("thread")
    req_oneshot = _setting("oneshot")
    opt_reentrant = _setting("reentrant")
    opt_nonreentrant = _setting("nonreentrant")
    opt_on = _setting("on")
    opt_cpl = _setting("cpl")
    counter_max = _setting("max")
    counter_init = _setting("init")

    def pic_nothing(self, meta: Any, c: list[Any]) -> None:
        return None

    @staticmethod
    def _flat(c: list[Any]) -> list[Any]:
        out: list[Any] = []
        for x in c:
            out.extend(x if isinstance(x, tuple) and x and isinstance(x[0], ast.Setting) else [x])
        return out

    def pic_decl(self, meta: Any, c: list[Any]) -> ast.Pic:
        return ast.Pic(str(c[0]), str(c[1]), _settings(c[2:]), _span(meta))

    def apic_decl(self, meta: Any, c: list[Any]) -> ast.Apic:
        return ast.Apic(str(c[0]), _settings(c[1:]), _span(meta))

    def device_decl(self, meta: Any, c: list[Any]) -> ast.Device:
        return ast.Device(str(c[0]), _settings(self._flat(c[1:])), _span(meta))

    def idt_entry(self, meta: Any, c: list[Any]) -> ast.IdtEntry:
        vec, name, gate = c[0], c[1], c[2]
        dpl = c[3].value if len(c) > 3 and isinstance(c[3], ast.Num) else 0
        return ast.IdtEntry(vec.value, ast.Name(str(name), _tspan(name)), gate, dpl, _span(meta))

    def idt_decl(self, meta: Any, c: list[Any]) -> ast.Idt:
        return ast.Idt(tuple(x for x in c if isinstance(x, ast.IdtEntry)), _span(meta))

    def request_irq_decl(self, meta: Any, c: list[Any]) -> ast.RequestIrq:
        return ast.RequestIrq(c[0].value, ast.Name(str(c[1]), _tspan(c[1])), (), _span(meta))

    def simple_decl(self, meta: Any, c: list[Any]) -> ast.Object:
        return ast.Object(c[0], str(c[1]), span=_span(meta))

    def flag_decl(self, meta: Any, c: list[Any]) -> ast.Object:
        init = 1 if len(c) > 1 and c[1].value else 0
        return ast.Object("flag", str(c[0]), init, 1, _span(meta))

    def counter_decl(self, meta: Any, c: list[Any]) -> ast.Object:
        opts = {s.key: s.value for s in _settings(c[1:])}
        mx = opts.get("max")
        return ast.Object("counter", str(c[0]), int(opts.get("init", 0) or 0),
                          int(mx) if mx is not None else None, _span(meta))

    def code_decl(self, meta: Any, c: list[Any]) -> ast.Code:
        kind, name = c[0], c[1]
        body = c[-1]
        end = ast.Span(meta.end_line, meta.end_column - 1) if not getattr(meta, "empty", True) else ast.NO_SPAN
        return ast.Code(kind, str(name), _settings(c[2:-1]), body, _span(meta), end)

    def check_decl(self, meta: Any, c: list[Any]) -> ast.Check:
        return ast.Check(tuple(c), _span(meta))

    def check_invariant(self, meta: Any, c: list[Any]) -> ast.CheckItem:
        return ast.CheckItem("invariant", c[0], _span(meta))

    def check_named(self, meta: Any, c: list[Any]) -> ast.CheckItem:
        arg = c[1].value if len(c) > 1 else None
        return ast.CheckItem(str(c[0]), arg, _span(meta))

    # --- statements
    def block(self, meta: Any, c: list[Any]) -> tuple[ast.Stmt, ...]:
        return tuple(x for x in c if x is not None)

    def empty_stmt(self, meta: Any, c: list[Any]) -> None:
        return None

    def op0_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple(c[0], None, _span(meta))

    def op1_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple(c[0], ast.Name(str(c[1]), _tspan(c[1])), _span(meta))

    def irq_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple(c[0], c[1], _span(meta))

    def eoi_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        arg: Any = None
        if c:
            arg = c[0] if isinstance(c[0], ast.LineRef) else ast.Name(str(c[0]), _tspan(c[0]))
        return ast.Simple("eoi", arg, _span(meta))

    def mask_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple("mask", c[0], _span(meta))

    def unmask_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple("unmask", c[0], _span(meta))

    def int_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple("int", c[0], _span(meta))

    def fault_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple("fault", c[0], _span(meta))

    def return_stmt(self, meta: Any, c: list[Any]) -> ast.Simple:
        return ast.Simple("return", ast.Name(str(c[0]), _tspan(c[0])), _span(meta))

    def if_stmt(self, meta: Any, c: list[Any]) -> ast.If:
        orelse: tuple[Any, ...] = ()
        if len(c) > 2:
            orelse = c[2] if isinstance(c[2], tuple) else (c[2],)
        return ast.If(c[0], c[1], orelse, _span(meta))

    def if_block(self, meta: Any, c: list[Any]) -> ast.If:
        return c[0]

    def while_stmt(self, meta: Any, c: list[Any]) -> ast.While:
        return ast.While(c[0], c[1], _span(meta))

    def loop_stmt(self, meta: Any, c: list[Any]) -> ast.Loop:
        return ast.Loop(c[0], _span(meta))

    def wait_stmt(self, meta: Any, c: list[Any]) -> ast.Wait:
        return ast.Wait(c[0], ast.Name(str(c[1]), _tspan(c[1])), c[2], _span(meta))

    # --- expressions
    def in_service(self, meta: Any, c: list[Any]) -> ast.InService:
        return ast.InService(_span(meta))

    def name_ref(self, meta: Any, c: list[Token]) -> ast.Name:
        return ast.Name(str(c[0]), _tspan(c[0]))

    def not_(self, meta: Any, c: list[Any]) -> ast.Not:
        return ast.Not(c[0], _span(meta))

    def and_(self, meta: Any, c: list[Any]) -> Any:
        return ast.BoolOp("and", tuple(c), _span(meta)) if len(c) > 1 else c[0]

    def or_(self, meta: Any, c: list[Any]) -> Any:
        return ast.BoolOp("or", tuple(c), _span(meta)) if len(c) > 1 else c[0]

    def cmp(self, meta: Any, c: list[Any]) -> Any:
        if len(c) == 1:
            return c[0]
        return ast.Compare(str(c[1]), c[0], c[2], _span(meta))

    def sum(self, meta: Any, c: list[Any]) -> Any:
        if len(c) == 1:
            return c[0]
        return ast.Arith(tuple(str(x) for x in c[1::2]), tuple(c[0::2]), _span(meta))


_STATEMENT_WORDS = STATEMENT_KEYWORDS | {"if", "while", "loop"}
_DECL_WORDS = DECLARATION_KEYWORDS

_WORDS = {
    "NAME": "a name", "DEC": "a number", "HEX": "a number", "BIN": "a number",
    "$END": "end of file", "CMPOP": "a comparison", "ADDOP": "'+' or '-'",
}


def _describe_expected(expected: set[str]) -> tuple[str, list[str]]:
    """Words for lark's expected-terminal set, and the keywords in it (for did-you-mean)."""
    lits = {t.name: t.pattern.value for t in _parser().terminals}
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
    for group, kws_of_group in (("a statement", _STATEMENT_WORDS), ("a declaration", _DECL_WORDS)):
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


def _syntax_error(e: UnexpectedInput, path: str, source: str = "") -> Diagnostic:
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
            if first and first[0] in _DECL_WORDS:  # a declaration inside a block: a '}' is missing above
                hint = _unclosed(blocks)
        return Diagnostic("IRQ003", f"unexpected '{tok}'; expected {what}", path,
                          tok.line or line, tok.column or col, hint)
    return Diagnostic("IRQ004", str(e).splitlines()[0], path, line, col)


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
        raise _too_large(path)
    text = normalise_newlines(text.removeprefix("\ufeff"))
    depth, dl, dc = _block_depth(text)
    if depth > MAX_BLOCK_DEPTH:
        raise IrcheckError([Diagnostic("IRQ006", f"blocks nested deeper than {MAX_BLOCK_DEPTH}", path, dl, dc,
                                       "split the code into functions")], text)
    try:
        tree: Tree[Token] = _parser().parse(text)
    except UnexpectedInput as e:
        raise IrcheckError([_syntax_error(e, path, text)], text) from None
    except (LarkError, RecursionError) as e:  # pragma: no cover - defensive
        raise IrcheckError([Diagnostic("IRQ004", f"cannot parse: {type(e).__name__}", path)], text) from None
    try:
        decls = _ToAst().transform(tree)
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
            elif isinstance(st, ast.While | ast.Loop):
                work.append((st.body, depth + 1))
    return None


def _file_error(code: str, message: str, path: str, hint: str = "", source: str = "",
                line: int = 1, column: int = 1) -> IrcheckError:
    return IrcheckError([Diagnostic(code, message, path, line, column, hint)], source)


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_model_bytes(path: str | Path) -> bytes:
    """The bytes of a model file, read the careful way: only a regular file (a FIFO, a device or a
    directory is refused, and opening never blocks on a FIFO without a writer), and never more than
    MAX_SOURCE_BYTES + 1 bytes (a huge file is refused before it is read). Raises IrcheckError
    (IRQ007 the file, IRQ005 the size) at file:1:1."""
    name = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:  # no such file, no permission: there is no line to point at
        raise _file_error("IRQ007", f"cannot read file: {e.strerror or e}", name, line=0, column=0) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((k for test, k in _KINDS if test(st.st_mode)), "not a regular file")
            raise _file_error("IRQ007", f"cannot read file: it is {kind}, not a regular file", name,
                              "give the path of a .irq file" + (" (or the directory to `ircheck` itself)"
                                                               if stat.S_ISDIR(st.st_mode) else ""))
        if st.st_size > MAX_SOURCE_BYTES:
            raise _too_large(name)
        chunks: list[bytes] = []
        left = MAX_SOURCE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:  # the file grew while we read it, or reports no size (/proc)
            raise _too_large(name)
        return b"".join(chunks)
    except OSError as e:
        raise _file_error("IRQ007", f"cannot read file: {e.strerror or e}", name, line=0, column=0) from None
    finally:
        os.close(fd)


def _too_large(path: str) -> IrcheckError:
    return _file_error("IRQ005", f"model is larger than {MAX_SOURCE_BYTES >> 20} MiB", path,
                       "a model describes a design, not data: split or shrink it")


def decode_model(raw: bytes, path: str) -> str:
    """UTF-8 text (a leading byte-order mark is dropped); IRQ008 at the line and column of the first
    byte that is not UTF-8, with that line shown (the bad byte as U+FFFD); a binary file (a NUL byte
    in its first 8,000 bytes) is IRQ008 at file:1:1, with nothing shown."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    nul = raw.find(b"\0", 0, 8000)
    if nul >= 0:  # git's test for a binary file: no line of it is worth showing
        raise _file_error("IRQ008", f"this is a binary file, not a model (a NUL byte at offset {nul})", path,
                          "give the path of a .irq text file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        before = normalise_newlines(raw[:e.start].decode("utf-8", "replace"))
        line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
        shown = normalise_newlines(raw.decode("utf-8", "replace"))
        raise _file_error("IRQ008", f"file is not UTF-8 text (byte {e.start}: 0x{raw[e.start]:02x})", path,
                          "save the model as UTF-8", shown, line, column) from None


def normalise_newlines(text: str) -> str:
    """`\\r\\n` and a lone `\\r` (old Mac files) become `\\n`, so that line numbers count every line."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def parse_file(path: str | Path) -> ast.Model:
    """Parse a model file (see `read_model_bytes` and `decode_model`); raises IrcheckError on bad input."""
    return parse(decode_model(read_model_bytes(path), str(path)), str(path))
