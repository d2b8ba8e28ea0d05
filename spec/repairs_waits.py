"""The wait-queue and completion repairs of the `--suggest` catalogue (R5, R6): proposals only, the
checker judges them.

* `prepare_first` (W1, R5): `if not F { prepare_to_wait Q; schedule; finish_wait Q }` tests F before
  the task is queued and marked sleeping, so a wake_up between the test and prepare_to_wait is lost.
  The standard order queues first, tests, sleeps, dequeues: `prepare_to_wait Q; if not F { schedule };
  finish_wait Q` (also with `prepare_to_wait_exclusive` and `schedule_timeout`).
* `reinit_first` (R6): `S; reinit_completion C` where S is the request the completion answers (any
  statement that is not itself about C): a complete that comes between them is erased. Reinitialise
  before submitting: the two swap.
"""

from __future__ import annotations

from collections.abc import Iterator

from ircheck.grammar import ast
from ircheck.grammar.printer import expr_text
from ircheck.spec.repair_edits import Candidate, Source, swap
from ircheck.spec.repair_model import Facts, arg_name

_PREPARE = ("prepare_to_wait", "prepare_to_wait_exclusive")
_SCHEDULE = ("schedule", "schedule_timeout")


def _blocks(body: tuple[ast.Stmt, ...]) -> Iterator[tuple[ast.Stmt, ...]]:
    """Every statement list of a body: the body itself and each nested block, in source order."""
    yield body
    for st in body:
        if isinstance(st, ast.If):
            yield from _blocks(st.then)
            yield from _blocks(st.orelse)
        elif isinstance(st, ast.While | ast.Loop):
            yield from _blocks(st.body)
        elif isinstance(st, ast.Choose):
            for b in st.branches:
                yield from _blocks(b)


def prepare_first(src: Source, d: Facts) -> Iterator[Candidate]:
    for code in d.codes:
        for st in ast.walk(code.body):
            if not (isinstance(st, ast.If) and isinstance(st.cond, ast.Not) and not st.orelse
                    and len(st.then) >= 2 and all(isinstance(s, ast.Simple) for s in st.then)):
                continue
            then = [s for s in st.then if isinstance(s, ast.Simple)]
            prep, sched, rest = then[0], then[1], then[2:]
            if prep.op not in _PREPARE or sched.op not in _SCHEDULE:
                continue
            if rest and not (len(rest) == 1 and rest[0].op == "finish_wait" and arg_name(rest[0]) == arg_name(prep)):
                continue
            q = arg_name(prep)
            edits = [src.insert_before(st.span, f"{prep.op} {q}"), src.delete_stmt(prep.span)]
            if rest:
                edits.append(src.delete_stmt(rest[0].span))
            edits.append(src.insert_after(st.span, f"finish_wait {q}"))
            yield Candidate(f"prepare_first:{code.name}:{q}:{st.span.line}",
                            f"{code.kind} {code.name}: `{prep.op} {q}` before the test `if {expr_text(st.cond)}` "
                            f"(queue and mark sleeping, then test, then {sched.op})", st.span.line, tuple(edits))


def reinit_first(src: Source, d: Facts) -> Iterator[Candidate]:
    for code in d.codes:
        for block in _blocks(code.body):
            for before, st in zip(block, block[1:], strict=False):
                if not (isinstance(st, ast.Simple) and st.op == "reinit_completion"):
                    continue
                c = arg_name(st)
                about_c = isinstance(before, ast.Simple) and isinstance(before.arg, ast.Name) and before.arg.name == c
                if about_c or not isinstance(before, ast.Simple):
                    continue
                edits = swap(src, before.span, st.span)
                if edits is not None:
                    yield Candidate(f"reinit_first:{code.name}:{c}:{st.span.line}",
                                    f"{code.kind} {code.name}: `reinit_completion {c}` before `{before.op}` "
                                    "(reinitialise, then submit the request it answers)", st.span.line, edits)
