"""spec/language.py is the one table of the language: everything that spells the vocabulary out
agrees with it - the grammar, the parser, resolve, the CFG builder, the lowering's op sets and
dispatch, the repairs, the contexts graph, the editor grammar and the reference tables."""

from __future__ import annotations

import ast as pyast
import json
import re

import pytest

from ircheck.grammar import ast
from ircheck.grammar.parser import KEYWORD_RULES, keywords, parse
from ircheck.grammar.syntax_errors import DECL_WORDS, STATEMENT_WORDS
from ircheck.spec import (
    contexts_graph,
    dispatch,
    language,
    repairs_contexts,
    repairs_locks,
    resolve,
    variables,
)
from ircheck.spec.cfg import Compiler
from ircheck.spec.language import (
    ACQUIRES,
    BARE_STATEMENTS,
    DECLARATION,
    DECLARATION_KEYWORDS,
    DECLARATIONS,
    KERNEL_STATEMENTS,
    RELEASES,
    SLEEPING,
    SPIN_PAIRS,
    STATEMENT,
    STATEMENT_KEYWORDS,
    STATEMENTS,
    Flags,
    Layer,
    Place,
    Shape,
    Statement,
    Syntax,
)
from ircheck.spec.lower import lower
from ircheck.spec.prims import locks, rwlock, seqlock
from ircheck.spec.resolve import resolve as resolve_model
from tests.conftest import ROOT

CONTROL = frozenset({"if", "while", "loop", "choose"})  # control flow: statements of the grammar, not of the table


# ---- the table itself ---------------------------------------------------------------------------

def test_keywords_are_unique_and_lookups_are_derived() -> None:
    assert len({s.keyword for s in STATEMENTS}) == len(STATEMENTS)
    assert len({d.keyword for d in DECLARATIONS}) == len(DECLARATIONS)
    assert all(STATEMENT[s.keyword] is s for s in STATEMENTS)
    assert all(DECLARATION[d.keyword] is d for d in DECLARATIONS)
    assert BARE_STATEMENTS | KERNEL_STATEMENTS == STATEMENT_KEYWORDS
    assert not BARE_STATEMENTS & KERNEL_STATEMENTS
    assert not STATEMENT_KEYWORDS & DECLARATION_KEYWORDS


def test_entries_are_consistent() -> None:
    """A name operand goes with the one-name syntaxes; a lock with its object; IF/BH effects with locks
    of that flavour; `sleeps` with process-context-only statements."""
    for s in STATEMENTS:
        assert (s.operand is not None) == (s.syntax in (Syntax.NAME, Syntax.WAIT, Syntax.TEST, Syntax.SEQ)), s.keyword
        if s.lock is not None:  # a seqlock's writers take its spinlock (R2)
            assert s.acts_on is ({"spinlock": language.Object.SPINLOCK, "rwlock": language.Object.RWLOCK,
                                  "mutex": language.Object.MUTEX}[s.lock.kind] if s.primitive != "seqlock"
                                 else language.Object.SEQUENCE)
            if s.lock.flavour in ("irqsave", "irq"):
                assert s.irq_flags is not Flags.NONE and s.bh is Flags.NONE, s.keyword
            elif s.lock.flavour == "bh":
                assert s.bh is not Flags.NONE and s.irq_flags is Flags.NONE, s.keyword
            else:
                assert s.irq_flags is Flags.NONE and s.bh is Flags.NONE, s.keyword
    assert SLEEPING == {"mutex_lock", "sleep", "msleep", "sleep_on", "wait_event", "epoll_wait", "disable_irq", "free_irq",
                        "synchronize_irq", "schedule", "schedule_timeout", "wait_event_exclusive", "wait_event_timeout",
                        "wait_for_completion", "wait_for_completion_timeout", "probe_irq_on"}
    assert {s.keyword for s in STATEMENTS if s.place is not Place.ANY} == {"iret", "return"}


def test_the_primitives() -> None:
    """The mechanisms the lowering has one primitive for; statements of one primitive share a layer."""
    assert language.PRIMITIVES == {
        "atomic", "bh", "call", "completion", "counter", "data", "delay", "device_ack", "device_kick", "eoi", "flag", "genirq",
        "imr", "iret", "irq_flags", "mutex", "nop", "preempt", "probe", "rwlock", "seqlock", "sleep", "softirq", "spinlock", "tasklet",
        "timer", "wait_queue", "work", "x86_sync"}
    for p in language.PRIMITIVES - {"irq_flags"}:  # cli/sti are bare metal, local_irq_save/restore kernel
        assert len({s.layer for s in STATEMENTS if s.primitive == p}) == 1, p


def test_lock_pairs_point_at_each_other() -> None:
    for s in STATEMENTS:
        if s.lock is not None:
            other = STATEMENT[s.lock.pair]
            assert other.lock is not None and other.lock.pair == s.keyword
            assert other.lock.acquire != s.lock.acquire and other.lock.kind == s.lock.kind
            assert other.lock.flavour == s.lock.flavour
    assert language.lock_use("spin_lock_bh").flavour == "bh"
    with pytest.raises(KeyError):
        language.lock_use("cli")


# ---- the grammar and the parser --------------------------------------------------------------------

def test_the_grammar_keyword_rules_come_from_the_table() -> None:
    """irq.lark does not spell the keyword rules out; the parser appends them from the table, and
    every statement and declaration keyword is a keyword of the parsed grammar."""
    text = (ROOT / "grammar" / "irq.lark").read_text()
    for rule in KEYWORD_RULES:
        assert not re.search(rf"^!?{rule}\s*:", text, re.M), rule
        assert re.search(rf"\b{rule}\b", text), f"irq.lark never uses {rule}"
    assert set(KEYWORD_RULES) == {"op0", "op1", "irqop", "waitop", "testop", "seqop", "objkind", "codekind"}
    assert {kw for kws in KEYWORD_RULES.values() for kw in kws} <= STATEMENT_KEYWORDS | DECLARATION_KEYWORDS
    assert STATEMENT_KEYWORDS | DECLARATION_KEYWORDS <= keywords()
    assert STATEMENT_WORDS == STATEMENT_KEYWORDS | CONTROL
    assert DECL_WORDS == DECLARATION_KEYWORDS


def _operand_text(s: Statement) -> str:
    """A well-formed operand for statement `s` in `_MODEL`."""
    names = {"spinlock": "l", "rwlock": "rw", "mutex": "m", "waitqueue": "q", "data": "d", "flag": "f", "counter": "c",
             "function": "fn", "device": "nic", "softirq": "s", "tasklet": "t", "work": "w",
             "completion": "cm", "timer": "tm", "hrtimer": "hr",
             "seqlock": "sl", "seqcount": "sc", "probe": "p"}
    if s.syntax is Syntax.WAIT:
        assert s.operand is not None
        return f"{names[s.operand.kinds[0]]} until f"
    if s.operand is not None:
        return names[s.operand.kinds[0]]
    return {Syntax.BARE: "", Syntax.EOI: "", Syntax.IRQ: "3", Syntax.LINE: "master.5", Syntax.RETURN: "handled",
            Syntax.NUMBER: "0x80" if s.keyword == "int" else "14"}[s.syntax]


_MODEL = """
pic master : i8259 {{ base 0x20 }}
device nic {{ irq master.3 edge on_kick }}
device kbd {{ irq master.1 edge }}
idt {{ 0x21 -> gate_h interrupt_gate dpl 0; 0x80 -> sys_h trap_gate dpl 3; 0x0e -> pf_h interrupt_gate dpl 0 }}
request_irq 3 nic_h
handler nic_h {{ {in_genirq} }}
handler gate_h {{ {in_handler} }}
handler sys_h {{ nop }}
handler pf_h {{ nop }}
spinlock l
rwlock rw
seqlock sl
seqcount sc
mutex m
data d
waitqueue q
completion cm
flag f
counter c max 3
softirq s {{ nop }}
tasklet t {{ nop }}
work w {{ nop }}
timer tm {{ nop }}
hrtimer hr {{ nop }}
function fn {{ nop }}
probe p for nic
thread app {{ {in_thread} }}
"""


def one_statement_model(s: Statement) -> tuple[str, int]:
    """A model with statement `s` once, where the table says it may appear (a handler for `iret`,
    `eoi`; a request_irq handler for `return`; else a thread), and the line it is on."""
    text = f"{s.keyword} {_operand_text(s)}".strip()
    if s.syntax is Syntax.TEST:  # an atomic conditional is an `if` condition
        text = f"if {text} {{ nop }}"
    if s.syntax is Syntax.SEQ:  # a block statement (R2)
        text = f"{text} {{ read d }}"
    where = ("in_genirq" if s.place is Place.GENIRQ_HANDLER else
             "in_handler" if s.place is Place.HANDLER or s.syntax is Syntax.EOI else "in_thread")
    slots = {"in_genirq": "nop", "in_handler": "eoi", "in_thread": "nop"}
    slots[where] = text if where != "in_handler" or s.keyword == "eoi" else f"eoi; {text}"
    src = _MODEL.format(**slots)
    line = next(n for n, ln in enumerate(src.splitlines(), 1) if text in ln)
    return src, line


@pytest.mark.parametrize("s", STATEMENTS, ids=lambda s: s.keyword)
def test_every_statement_parses_resolves_and_is_lowered(s: Statement) -> None:
    """An entry with no lowering fails here: the one-statement model of each statement lowers without
    an exception, and some transition is labelled with the statement's line and keyword."""
    src, line = one_statement_model(s)
    model = parse(src, "one.irq")
    found = [st for c in model.decls if isinstance(c, ast.Code) for st in ast.walk(c.body)
             if isinstance(st, ast.Simple | ast.Wait | ast.ReadSeq) and st.op == s.keyword
             or isinstance(st, ast.If) and isinstance(st.cond, ast.AtomicTest) and st.cond.op == s.keyword]
    assert found and found[0].span.line == line
    ts = lower(resolve_model(model))
    labels = [t.label for t in ts.transitions if t.label.line == line]
    assert labels, f"no transition for `{s.keyword}`"
    assert any(s.keyword in lab.action for lab in labels), [lab.action for lab in labels]


# ---- resolve, the CFG builder, the lowering's op sets --------------------------------------------------

def test_resolve_reads_the_table() -> None:
    assert resolve.SPIN_OPS == SPIN_PAIRS
    assert resolve.BARE_STATEMENTS == BARE_STATEMENTS
    assert resolve.TASK_KINDS == {"thread", "irq_thread", "work"}
    assert resolve.LOCK_OPS == ACQUIRES | RELEASES
    assert resolve.IRQ_OPS == {s.keyword for s in STATEMENTS if s.syntax is Syntax.IRQ}


@pytest.mark.parametrize("s", [s for s in STATEMENTS if s.operand is not None], ids=lambda s: s.keyword)
def test_an_operand_of_the_wrong_kind_is_refused_in_the_tables_words(s: Statement) -> None:
    """IRQ103 names the kind the table gives (`'app' is a thread, not a spinlock`)."""
    assert s.operand is not None
    src, _ = one_statement_model(s)
    bad = src.replace(f"{s.keyword} {_operand_text(s)}", f"{s.keyword} {_operand_text(s).replace(_operand_text(s).split()[0], 'app', 1)}")
    with pytest.raises(Exception) as e:
        resolve_model(parse(bad, "bad.irq"))
    assert f"'app' is a thread, not a {s.operand.what}" in str(e.value)


def test_the_cfg_shapes() -> None:
    """Each shape compiles to the node kinds its docstring names."""
    kinds = {Shape.STEP: ["stmt"], Shape.WAIT: ["wait_prepare", "wait_sleep", "wait_test"],
             Shape.SLEEP_ON: ["wait_prepare", "wait_sleep"], Shape.SYNC: ["sync_wait"],
             Shape.STEP_THEN_SYNC: ["stmt", "sync_wait"], Shape.SYNC_THEN_STEP: ["stmt", "sync_wait"]}
    for s in STATEMENTS:
        if s.shape not in kinds or s.place is not Place.ANY or s.syntax is Syntax.EOI:
            continue
        src, _ = one_statement_model(s)
        design = resolve_model(parse(src, "one.irq"))
        body = Compiler(design).compile_task(design.code["app"])
        got = sorted(n.kind for n in body.nodes if n.kind != "end")
        assert got == sorted(kinds[s.shape]), s.keyword


def test_the_lowering_sets_agree_with_the_table() -> None:
    """The lowering's op sets (spec/prims/locks.py, spec/variables.py) and its statement dispatch
    (spec/dispatch.py; tests/spec/test_dispatch.py checks it against every CFG shape) equal the table's views."""
    assert locks.ACQUIRE_OPS | rwlock.RW_ACQUIRE_OPS | (seqlock.SEQLOCK_OPS & ACQUIRES) == ACQUIRES
    assert not locks.ACQUIRE_OPS & rwlock.RW_ACQUIRE_OPS and not locks.ACQUIRE_OPS & seqlock.SEQLOCK_OPS
    assert locks.RELEASE_OPS | rwlock.RW_RELEASE_OPS | (seqlock.SEQLOCK_OPS & RELEASES) == RELEASES
    assert not locks.RELEASE_OPS & rwlock.RW_RELEASE_OPS and not locks.RELEASE_OPS & seqlock.SEQLOCK_OPS
    assert locks.IRQ_OFF_OPS == {s.keyword for s in STATEMENTS if s.lock and s.irq_flags in (Flags.SAVE,
                                                                                              Flags.DISABLE)}
    assert set(variables.SAVE_OPS) == {s.keyword for s in STATEMENTS if s.irq_flags is Flags.SAVE}
    assert set(variables.BH_OFF_OPS) == {s.keyword for s in STATEMENTS if s.bh is Flags.DISABLE}
    # every statement compiled to a plain location has a statement lowering: all but the waits
    # (wait_event/epoll_wait/sleep_on: wait_* nodes), synchronize_irq (a sync_wait node) and the frame
    # and call structure (iret, call: nodes of their own)
    nodes_only = (Shape.WAIT, Shape.SLEEP_ON, Shape.SYNC, Shape.IRET, Shape.CALL, Shape.TEST, Shape.SCHEDULE,
                  Shape.COMPLETION, Shape.RETRY)
    assert set(dispatch.STMT_LOWERINGS) == {s.keyword for s in STATEMENTS if s.shape not in nodes_only}
    assert not {s.keyword for s in STATEMENTS if s.layer is Layer.KERNEL and s.syntax not in (Syntax.WAIT, Syntax.TEST,
                                                                                               Syntax.SEQ)} \
        - {"sleep_on", "synchronize_irq", "schedule", "schedule_timeout", "wait_for_completion",
           "wait_for_completion_timeout"} - set(dispatch.STMT_LOWERINGS)


_EXPR_OPS = frozenset({"and", "or", "+", "-", "<", "<=", "==", "!=", ">=", ">", "|", "&"})


def _ops_compared(path: str) -> set[str]:
    """Every string a module compares with an `op` or `.op` (op == "x", op in ("x", ...))."""
    out: set[str] = set()
    for node in pyast.walk(pyast.parse((ROOT / path).read_text())):
        if not isinstance(node, pyast.Compare):
            continue
        left = node.left
        if not (isinstance(left, pyast.Name) and left.id == "op" or isinstance(left, pyast.Attribute)
                and left.attr == "op"):
            continue
        for comp in node.comparators:
            elts = comp.elts if isinstance(comp, pyast.Tuple | pyast.List | pyast.Set) else [comp]
            out |= {e.value for e in elts if isinstance(e, pyast.Constant) and isinstance(e.value, str)}
    return out


def test_no_lowering_dispatches_on_a_statement_the_table_lacks() -> None:
    """The other direction: every statement keyword that spec/ compares an `op` with is in the table
    (the lowering, the CFG builder, resolve, the repairs: a lowering with no entry fails here)."""
    unknown = {}
    for path in sorted((ROOT / "spec").rglob("*.py")):
        if "ast.Simple" not in path.read_text():  # ts.py's expression tuples have an `op` of their own
            continue
        rel = path.relative_to(ROOT).as_posix()
        extra = _ops_compared(rel) - STATEMENT_KEYWORDS - _EXPR_OPS
        if extra:
            unknown[rel] = sorted(extra)
    assert not unknown


# ---- repairs and the contexts graph -----------------------------------------------------------------

def test_repairs_and_contexts_graph_read_the_table() -> None:
    assert repairs_contexts._SLEEPS == SLEEPING
    assert repairs_locks._ACQUIRE == set(SPIN_PAIRS) and repairs_locks._RELEASE == SPIN_PAIRS
    assert repairs_locks._WAITS == {"disable_irq", "free_irq", "synchronize_irq", "del_timer_sync", "hrtimer_cancel"}
    assert repairs_locks._FLAVOURS == (("spin_lock_bh", "spin_unlock_bh", "bh"),
                                       ("spin_lock_irqsave", "spin_unlock_irqrestore", "irqsave"))
    assert repairs_locks._BH == {"softirq", "tasklet", "timer"}
    assert contexts_graph._LOCKS == ACQUIRES == {"spin_lock", "spin_lock_irqsave", "spin_lock_irq", "spin_lock_bh",
                                                 "mutex_lock", *rwlock.RW_ACQUIRE_OPS, "write_seqlock",
                                                 "write_seqlock_irqsave", "write_seqlock_irq", "write_seqlock_bh"}
    assert contexts_graph._DATA == {"read", "write"}


# ---- the editor grammar and the reference tables -------------------------------------------------------

def _highlighted(scope: str) -> set[str]:
    g = json.loads((ROOT / "editors" / "irq.tmLanguage.json").read_text())
    pat = next(p["match"] for p in g["patterns"] if p["name"] == scope)
    m = re.fullmatch(r"\\b\((.*)\)\\b", pat)
    assert m, pat
    return set(m.group(1).split("|"))


def test_the_editor_grammar_highlights_exactly_the_tables_keywords() -> None:
    statements = _highlighted("support.function.statement.irq")
    control = _highlighted("keyword.control.irq")
    assert statements <= STATEMENT_KEYWORDS
    assert STATEMENT_KEYWORDS <= statements | control
    assert STATEMENT_KEYWORDS - statements == {"return"}  # highlighted as control flow, with iret
    assert _highlighted("keyword.declaration.irq") == DECLARATION_KEYWORDS


def _first_column_words(section: str) -> set[str]:
    """The first word of every code span in the first column of a docs/reference.md table (settings,
    written with leading spaces, are left out)."""
    text = (ROOT / "docs" / "reference.md").read_text()
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    out: set[str] = set()
    for row in body.splitlines():
        if not row.startswith("| `"):
            continue
        spans = re.findall(r"`([^`]+)`", re.split(r"(?<!\\)\|", row)[1])
        if spans and not spans[0].startswith(" "):  # a setting row: `  base V`
            out |= {span.split()[0] for span in spans}
    return out


def test_the_reference_lists_exactly_the_tables_statements_and_declarations() -> None:
    assert _first_column_words("Statements") - CONTROL - {"in_service"} == STATEMENT_KEYWORDS
    assert _first_column_words("Declarations") == DECLARATION_KEYWORDS
