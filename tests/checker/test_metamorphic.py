"""Metamorphic tests: rewrites that cannot change what a model means never change a result.

For every bundled model and for generated ones (the generator of
test_engine_agreement), each rewrite below must keep every verdict, the number
of states, transitions and BFS levels, why the search stopped, and the length
of every shortest counterexample (safety checks and deadlock; a starvation
lasso is one of many and may take another loop):

- `rename`:  every declared name (controllers, devices, objects, code contexts,
             the system) replaced consistently by a fresh one;
- `shuffle`: declarations, and the rows of each idt, in another order (`request_irq`s keep theirs:
             it is the order of a shared line's actions);
- `reverse`: declarations in reverse order (the same exception);
- `unused`:  unused declarations added anywhere (a flag, a counter, data, a
             function nobody calls, a handler no gate names, a gate on a vector
             nothing raises);
- `split`:   the original text with every `;` turned into a line break;
- `join`:    the whole model printed on one line, `;` between declarations and
             between statements;
- `all`:     rename, shuffle and unused together, printed on one line.

The rewritten model is printed with `ircheck.grammar.printer.model_text` (or
joined from its declarations) and checked from text, like a user's file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import ircheck
from ircheck.grammar import ast
from ircheck.grammar.parser import keywords, parse
from ircheck.grammar.printer import decl_text, model_text
from tests.conftest import MODELS
from tests.support.generators import kernel_models
from tests.support.generators import models as generated_models

CAP = 30_000  # generated models larger than this are left out (the rewrites must compare complete searches)
KERNEL_CAP = 3_000
KINDS = ("rename", "shuffle", "reverse", "unused", "split", "join", "all")
BUNDLED = sorted(MODELS.rglob("*.irq"))  # models/errors/ too: their error codes must not change either



# ---- what must not change ------------------------------------------------------------------------

# Checks whose trace is one witness among several, not a shortest counterexample: the length may change.
ANY_LENGTH = {
    "no_starvation": "a lasso: one fair loop of many",
    # lockdep shows the trace of one usage or dependency of the violation; spec/lockdep.py picks it by
    # lock name (`_cycle` starts from sorted(edges)), so a renaming can pick another one (reported; see
    # test_lockdep_witness_does_not_depend_on_lock_names below)
    "lockdep": "the trace of one usage of several",
}

@dataclass(frozen=True)
class Outcome:
    verdicts: tuple[tuple[str, str], ...]
    states: int
    transitions: int
    depth: int
    complete: bool
    stopped_by: str
    lengths: tuple[tuple[str, int], ...]  # shortest counterexamples
    errors: tuple[str, ...]  # a model with input errors (the request_irq -EBUSY designs): their codes


def outcome(text: str, max_states: int | None = None, errors_allowed: bool = False) -> Outcome:
    """Verdicts, trace lengths and the unreduced graph's measures: declaration order is part of what
    threads on one CPU mean (the first declared runs first), so a reduced graph's size may follow it
    (which steps POR's ample sets take); reductions are held to `none` by test_reduction.py and
    test_por_graph.py."""
    r = ircheck.check_source(text, max_states=max_states, reduction="none")
    assert errors_allowed or not r.errors, (text, [d.render(text) for d in r.errors])
    st_ = r.stats
    return Outcome(tuple(sorted((c.name, c.status) for c in r.checks)), st_.states, st_.transitions, st_.depth,
                   st_.complete, st_.stopped_by,
                   tuple(sorted((c.name, len(c.trace)) for c in r.checks
                                if c.status == "violated" and c.name not in ANY_LENGTH)),
                   tuple(sorted(d.code for d in r.errors)))


# ---- the rewrites -------------------------------------------------------------------------------------

_SKIP_FIELDS = {"span", "end"}


def _rename_node(x: Any, names: dict[str, str]) -> Any:
    if isinstance(x, tuple):
        return tuple(_rename_node(y, names) for y in x)
    if isinstance(x, ast.Name):
        return replace(x, name=names.get(x.name, x.name))
    if isinstance(x, ast.LineRef):
        return replace(x, pic=names.get(x.pic, x.pic))
    if not is_dataclass(x) or isinstance(x, type):
        return x
    changes: dict[str, Any] = {}
    for f in fields(x):
        if f.name in _SKIP_FIELDS:
            continue
        v = getattr(x, f.name)
        if f.name == "name" and isinstance(v, str) and not isinstance(x, ast.CheckItem):
            changes[f.name] = names.get(v, v)  # a declaration's own name (a check's name stays)
        elif isinstance(x, ast.Setting) and f.name == "value" and isinstance(v, str) and \
                x.key in ("thread", "dev_id"):
            changes[f.name] = names.get(v, v)
        elif isinstance(v, tuple) or (is_dataclass(v) and not isinstance(v, type)):
            changes[f.name] = _rename_node(v, names)
    return replace(x, **changes)


def declared(model: ast.Model) -> list[str]:
    return [d.name for d in model.decls if isinstance(getattr(d, "name", None), str)]


def rename(model: ast.Model, rnd: random.Random) -> ast.Model:
    kws = keywords()
    old = declared(model)
    fresh = [f"n{i}_{rnd.choice('abcdefghjk')}{rnd.randrange(100)}" for i in range(len(old))]
    rnd.shuffle(fresh)
    assert not set(fresh) & (set(old) | kws)
    names = dict(zip(old, fresh, strict=True))
    return replace(model, decls=_rename_node(model.decls, names))


def _shuffled(items: tuple[Any, ...], rnd: random.Random) -> tuple[Any, ...]:
    out = list(items)
    rnd.shuffle(out)
    return tuple(out)


def _requests_in_order(before: tuple[Any, ...], after: tuple[Any, ...]) -> tuple[Any, ...]:
    """`after` with its `request_irq` declarations put back in their order in `before`: the order of
    request_irq calls is the order of a shared line's actions, which the flow handler runs in turn
    (kernel/irq/manage.c `__setup_irq` appends each new action at the end of the chain), so it is
    part of what a model means; every other declaration may move."""
    requests = iter([d for d in before if isinstance(d, ast.RequestIrq)])
    return tuple(next(requests) if isinstance(d, ast.RequestIrq) else d for d in after)


def shuffle(model: ast.Model, rnd: random.Random) -> ast.Model:
    decls = [replace(d, entries=_shuffled(d.entries, rnd)) if isinstance(d, ast.Idt) else d for d in model.decls]
    return replace(model, decls=_requests_in_order(tuple(decls), _shuffled(tuple(decls), rnd)))


def reverse(model: ast.Model, rnd: random.Random) -> ast.Model:
    return replace(model, decls=_requests_in_order(model.decls, tuple(reversed(model.decls))))


def _numbers(x: Any, out: set[int]) -> set[int]:
    if isinstance(x, bool):
        return out
    if isinstance(x, int):
        out.add(x)
    elif isinstance(x, tuple):
        for y in x:
            _numbers(y, out)
    elif is_dataclass(x) and not isinstance(x, type):
        for f in fields(x):
            if f.name not in _SKIP_FIELDS:
                _numbers(getattr(x, f.name), out)
    return out


def _free_vector(model: ast.Model) -> int:
    """A vector no gate, device, `int`/`fault` or 8259A (base..base+7) uses."""
    used = _numbers(model.decls, set())
    for d in model.decls:
        if isinstance(d, ast.Pic):
            for s in d.settings:
                if s.key == "base" and isinstance(s.value, int):
                    used |= set(range(s.value, s.value + 8))
    return next(v for v in range(0xEF, 0x30, -1) if v not in used)


def unused(model: ast.Model, rnd: random.Random) -> ast.Model:
    taken = set(declared(model))
    tag = "u" + "".join(rnd.choice("xyz") for _ in range(3))
    while any(n.startswith(tag) for n in taken):
        tag += "q"
    gate = ast.Idt((ast.IdtEntry(_free_vector(model), ast.Name(f"{tag}_gated"), "interrupt_gate", 0),))
    extra: list[ast.Decl] = [
        ast.Object("flag", f"{tag}_flag", init=rnd.randrange(2), max=1),
        ast.Object("counter", f"{tag}_counter", init=1, max=3),
        ast.Object("data", f"{tag}_data"),
        ast.Code("function", f"{tag}_fn", (), (ast.Simple("inc", ast.Name(f"{tag}_counter")),
                                                 ast.Simple("read", ast.Name(f"{tag}_data")))),
        ast.Code("handler", f"{tag}_unbound", (), (ast.Simple("set", ast.Name(f"{tag}_flag")),
                                                   ast.Simple("eoi", None))),
        gate,
        ast.Code("handler", f"{tag}_gated", (), (ast.Simple("nop", None), ast.Simple("eoi", None))),
    ]
    # the function and the handlers use the flag, counter and data: keep those whenever one of them stays
    keep = [e for e in extra if rnd.random() < 0.6] or [extra[0]]
    if any(isinstance(e, ast.Code) for e in keep):
        keep = [e for e in extra[:3] if e not in keep] + keep
    if gate in keep and extra[-1] not in keep:
        keep.append(extra[-1])
    decls = list(model.decls)
    for e in keep:
        decls.insert(rnd.randrange(len(decls) + 1), e)
    return replace(model, decls=tuple(decls))


def code_of(text: str) -> str:
    """The text without its comments."""
    return "\n".join(line.partition("#")[0] for line in text.splitlines())


def split_text(text: str) -> str:
    """Every `;` outside comments becomes a line break (statements, settings, declarations)."""
    out = []
    for line in text.splitlines():
        code, hash_, comment = line.partition("#")
        out.append(code.replace(";", "\n") + hash_ + comment)
    return "\n".join(out) + "\n"


def one_line(model: ast.Model) -> str:
    """The whole model on one line: `;` between declarations and between statements."""
    parts = []
    for d in model.decls:
        lines = [x.strip() for x in decl_text(d).splitlines()]
        text = lines[0]
        for a, b in zip(lines, lines[1:], strict=False):
            sep = " " if a.endswith("{") or b.startswith("}") or isinstance(d, ast.Idt) else "; "
            text += sep + b
        parts.append(text)
    return "; ".join(parts) + "\n"


REWRITES = {"rename": rename, "shuffle": shuffle, "reverse": reverse, "unused": unused}


def rewritten(text: str, kind: str, rnd: random.Random, path: str = "<string>") -> str:
    if kind == "split":
        assert ";" in code_of(text), "nothing to split"
        return split_text(text)
    model = parse(text, path)
    if kind == "join":
        return one_line(model)
    if kind == "all":
        return one_line(unused(shuffle(rename(model, rnd), rnd), rnd))
    return model_text(REWRITES[kind](model, rnd))


# ---- the rewrites themselves ----------------------------------------------------------------------

def test_rewrites_do_what_they_say() -> None:
    text = (MODELS / "x86_cascade_disk_missing_master_eoi.irq").read_text()
    m = parse(text)
    rnd = random.Random(1)
    r = parse(rewritten(text, "rename", rnd))
    assert not set(declared(m)) & set(declared(r)) and len(declared(r)) == len(declared(m))
    s = parse(rewritten(text, "shuffle", random.Random(3)))
    assert sorted(declared(s)) == sorted(declared(m)) and len(s.decls) == len(m.decls)
    assert [type(d) for d in s.decls] != [type(d) for d in m.decls]
    u = parse(rewritten(text, "unused", random.Random(5)))
    assert len(u.decls) > len(m.decls)
    j = rewritten(text, "join", rnd)
    assert j.count("\n") == 1 and parse(j).decls == m.decls
    sp = rewritten(text, "split", rnd)
    assert sp.count("\n") > text.count("\n") and parse(sp).decls == m.decls


# ---- every bundled model --------------------------------------------------------------------------------

@pytest.mark.parametrize("path,kind", [
    pytest.param(p, k, id=f"{p.stem}-{k}") for p in BUNDLED for k in KINDS])
def test_bundled_model_keeps_its_results(path: Any, kind: str) -> None:
    text = path.read_text()
    if kind == "split" and ";" not in code_of(text):
        pytest.skip("no `a; b` in this model")
    before = outcome(text, errors_allowed=True)
    for k in range(2 if kind in ("rename", "shuffle", "unused", "all") else 1):
        rnd = random.Random(f"{path.name}:{kind}:{k}")  # str seeds hash with sha512: the same on every run
        after = rewritten(text, kind, rnd, str(path))
        assert outcome(after, errors_allowed=True) == before, f"{kind} changed the results of {path.name}:\n{after}"


def test_some_bundled_models_have_a_b_on_one_line() -> None:
    with_semicolons = [p for p in BUNDLED if ";" in code_of(p.read_text())]
    assert len(with_semicolons) >= 20


# ---- generated models ---------------------------------------------------------------------------------

def _generated(text: str, kind: str, rnd: random.Random, cap: int = CAP) -> None:
    if kind == "split":
        assume(";" in code_of(text))  # a handler or thread of one statement has nothing to split
    before = outcome(text, cap)
    assume(not before.stopped_by.startswith("--max-states"))
    after = rewritten(text, kind, rnd)
    assert outcome(after, cap) == before, f"{kind} changed the results of\n{text}\n---- rewritten:\n{after}"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_models(), st.sampled_from(KINDS), st.randoms(use_true_random=False))
def test_generated_models_keep_their_results(text: str, kind: str, rnd: random.Random) -> None:
    _generated(text, kind, rnd)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=45, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=generated_models(), rnd=st.randoms(use_true_random=False))
def test_generated_models_keep_their_results_many(kind: str, text: str, rnd: random.Random) -> None:
    _generated(text, kind, rnd)


# ---- generated kernel-layer models (SMP, locks, genirq, softirq, tasklet, work, wait queues) ----------

@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kernel_models(), st.sampled_from(KINDS), st.randoms(use_true_random=False))
def test_generated_kernel_models_keep_their_results(text: str, kind: str, rnd: random.Random) -> None:
    _generated(text, kind, rnd, KERNEL_CAP)


WORK_THEN_THREAD = """cpus 1
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
request_irq 3 isr
spinlock l
handler isr { queue_work w }
work w { nop }
thread t on cpu0 { spin_lock l; sleep; spin_unlock l }
check no_sleep_in_atomic
"""


def test_work_item_declared_before_the_thread() -> None:
    """A bug this test found (spec/lower.py make_cpu): a CPU started in its first declared task, here the
    work item idling at pc 0 - 10 states and a 3-step "shortest" counterexample starting with
    `cpu0 idle  switch to thread t`, against 6 states and 2 steps with the thread declared first. A CPU
    now starts in its first `thread`."""
    _generated(WORK_THEN_THREAD, "reverse", random.Random(0), KERNEL_CAP)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=kernel_models(), rnd=st.randoms(use_true_random=False))
def test_generated_kernel_models_keep_their_results_many(kind: str, text: str, rnd: random.Random) -> None:
    _generated(text, kind, rnd, KERNEL_CAP)


ABBA = (MODELS / "kernel_abba_lockdep_only.irq")


def test_lockdep_witness_does_not_depend_on_lock_names() -> None:
    """Swapping the two lock names of an ABBA design is a renaming: the same report up to names. A bug this
    test found: the witness of the lock-order cycle was the last dependency of the cycle found from the
    alphabetically first lock, so one spelling showed `submit` (2 steps) and the other `reset` (3 steps,
    the first a switch to that thread). The cycle is now chosen, and rotated, by discovery order."""
    text = ABBA.read_text()
    swapped = text.replace("dev_lock", "tmp_lock").replace("queue_lock", "dev_lock").replace("tmp_lock", "queue_lock")
    a, b = ircheck.check_source(text), ircheck.check_source(swapped)
    assert a.check("lockdep").status == b.check("lockdep").status == "violated"
    assert len(a.check("lockdep").trace) == len(b.check("lockdep").trace)
