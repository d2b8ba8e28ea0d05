"""The search's edge log (checker/edge_log.py) and the generated predicates it holds.

The log is a cache of what the graph analyses (checker/liveness.py) used to recompute after the
search: each stored state's edges (transition, successor id, group element), its blocked waits and
its pending requests. These tests hold it to the recomputation, row by row and bit by bit, on the
symmetry quotient and without one; they hold the generated `props`, `blocked` and `marks` (whose
failures share their first conjunct's test, codegen `predicate_fn`) to the reference evaluation of
each expression; and they check that verdicts and traces do not depend on the log (kept, dropped
for memory, or never written).
"""

from __future__ import annotations

import pytest

from ircheck.api import compile_source
from ircheck.edge_log import EdgeLog
from ircheck.explicit import Explicit
from ircheck.limits import Limits, Watch
from ircheck.outcome import SearchResult
from ircheck.reduce_plan import plan
from ircheck.spec.expr_algebra import evaluate
from ircheck.spec.ts import TransitionSystem
from tests.support.generators import examples, kernel_models, symmetric_graph_models


def _engine(ts: TransitionSystem, quotient: bool, keep: bool = True, limits: Limits | None = None) -> Explicit:
    eng = Explicit(ts, limits or Limits())
    if quotient:
        p = plan(ts, frozenset({"symmetry"}))
        assert p.quotient is not None, p.note
        eng.quotient, eng.fact_orbit = p.quotient, p.fact_orbit or {}
    eng.keep_edges = keep
    return eng


def _outcome(res: SearchResult) -> dict[str, tuple[int, int, int | None]]:
    return {c: (len(v.path), len(v.cycle or ()), v.line) for c, v in res.violations.items()}


def _check_log(eng: Explicit) -> int:
    """Every row of the log against the recomputation; the rows checked."""
    log = eng.log
    assert isinstance(log, EdgeLog)
    store = eng.seen
    ts = eng.ts
    assert log.rows() == len(store)
    for i, s in enumerate(store):
        want = [(ti, store.id_of(t), el) for ti, t, el in eng.edges(s)]  # type: ignore[attr-defined]
        assert log.out(i) == want, i
        vals = eng.pk.unpack(s)
        assert log.blocked[i] == sum(1 << k for k, w in enumerate(ts.waits) if evaluate(w.blocked, vals)), i
        assert eng.code.blocked(s) == log.blocked[i], i  # the analyses' recomputation reads this one
        assert log.pending[i] == sum(1 << k for k, r in enumerate(ts.requests) if evaluate(r.pending, vals)), i
        assert eng.code.props(s) == sum(1 << k for k, p in enumerate(ts.state_props) if not evaluate(p.ok, vals))
    return log.rows()


@pytest.mark.parametrize("text", examples(symmetric_graph_models(), 4))
def test_the_log_is_the_recomputation_on_a_quotient(text: str) -> None:
    ts = compile_source(text)
    eng = _engine(ts, quotient=True)
    eng.run()
    assert _check_log(eng) == eng.seen.__len__() > 1
    assert eng.log is not None and eng.log.el is not None
    assert any(el >= 0 for el in eng.log.el)  # some successor was stored renamed


@pytest.mark.parametrize("text", examples(kernel_models(), 6))
def test_the_log_is_the_recomputation(text: str) -> None:
    ts = compile_source(text)
    if not ts.waits and not ts.requests:
        pytest.skip("no graph analysis reads a log here")
    eng = _engine(ts, quotient=False)
    eng.run()
    assert _check_log(eng) > 1
    assert eng.log is not None and eng.log.el is None


@pytest.mark.parametrize("text", examples(symmetric_graph_models(), 3))
def test_memoized_marks_are_the_reference_when_the_memo_starts_afresh(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`marks` is memoized per section on the fields it reads (codegen `memo_predicate_fn`); with
    room for 3 entries the memo starts afresh again and again, and every bit still matches the
    reference evaluation (`_check_log`), as with the default room."""
    from ircheck import codegen  # noqa: PLC0415

    ts = compile_source(text)
    assert ts.waits or ts.requests
    monkeypatch.setattr(codegen, "MEMO_CAP", 3)
    eng = _engine(ts, quotient=False)
    assert ">= 3:" in eng.code.source
    eng.run()
    assert _check_log(eng) > 3


def test_no_log_without_a_graph_analysis() -> None:
    text = examples(kernel_models(), 1)[0]
    ts = compile_source(text, checks=["no_data_race"])
    eng = _engine(ts, quotient=False)
    eng.run()
    assert eng.log is None


@pytest.mark.parametrize("text", examples(symmetric_graph_models(), 6))
def test_verdicts_do_not_depend_on_the_log(text: str) -> None:
    """Kept or never written, unreduced and on the quotient: the same violations (trace and cycle
    lengths, lines) and the same states."""
    ts = compile_source(text)
    runs = []
    for quotient in (False, True):
        kept = _engine(ts, quotient)
        a = kept.run()
        assert kept.log is not None
        none = _engine(ts, quotient, keep=False)
        b = none.run()
        assert none.log is None
        runs.append((_outcome(a), a.states, a.transitions))
        assert (_outcome(b), b.states, b.transitions) == runs[-1], text
    assert runs[0][0].keys() == runs[1][0].keys(), text


def test_a_log_over_its_share_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """`EdgeLog.over` at a look of the search's watch: the search goes on without it, and the
    analyses recompute (same outcome)."""
    import ircheck.edge_log as edge_log  # noqa: PLC0415
    text = examples(symmetric_graph_models(), 3)[2]
    ts = compile_source(text)
    kept = _engine(ts, quotient=False)
    a = kept.run()
    assert kept.log is not None
    monkeypatch.setattr(edge_log, "SHARE", 0.0)
    made: list[EdgeLog | None] = []
    new_log = Explicit._new_log
    monkeypatch.setattr(Explicit, "_new_log", lambda self: made.append(new_log(self)) or made[-1])
    dropped = _engine(ts, quotient=False)
    b = dropped.run()
    assert b.states > Watch.FIRST  # the watch looked at least once
    assert dropped.log is None
    assert made[0] is not None and made[0].nbytes() == 0  # emptied: its memory went back
    assert (_outcome(b), b.states) == (_outcome(a), a.states)
