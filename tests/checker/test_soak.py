"""Soak: every bundled model under every engine and reduction, in one run, agreeing.

The reference is the plainest search there is: the explicit engine, one process, a dict store,
no reductions. Against it, per model and check:

- the reductions (each alone and all together) promise the very same report: verdicts, messages
  and traces (a reduced search re-finds counterexamples in the full graph); `--workers 2` (Ray)
  promises verdicts, state counts and trace lengths, compared on every bundled model by
  tests/checker/test_ray.py (which starts the session's one local Ray);
- the compact stores may leave a check "inconclusive" where they cannot decide it (the graph
  analyses; a hash-compacted search never says "holds"), otherwise the same verdict and the same
  trace length;
- the Z3 engine may be "inconclusive" within its time budget, otherwise the same verdict, and for
  a safety violation a counterexample of the same (shortest) length.

A disagreement anywhere is a bug in one of them; the test names the model, the variant and the
check.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.result import Report
from ircheck.spec.checks import CATALOGUE, Kind
from tests.conftest import ROOT

MODELS = sorted(p for p in (ROOT / "models").glob("*.irq"))
IDENTICAL = [("reduction", "por"), ("reduction", "merge"), ("reduction", "symmetry"), ("reduction", "all")]
LIVENESS = {c.name for c in CATALOGUE if c.kind in (Kind.LIVENESS, Kind.DEADLOCK)}  # judged on the graph


def _summary(r: Report) -> dict[str, tuple[str, str, int, int | None]]:
    return {c.name: (c.status, c.message, len(c.trace), c.loop_start) for c in r.checks}


@pytest.mark.slow
@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_every_engine_and_reduction_agrees(path: Path) -> None:
    ref = ircheck.check_file(path, engine="explicit", reduction="none")
    assert not ref.errors, path
    want = _summary(ref)

    for key, value in IDENTICAL:
        got = ircheck.check_file(path, engine="explicit", **{key: value})  # type: ignore[arg-type]
        assert _summary(got) == want, (path.name, key, value)

    for store in ("compact", "hash"):
        got = ircheck.check_file(path, engine="explicit", store=store, reduction="none")
        for c in got.checks:
            status, _msg, length, _loop = want[c.name]
            if c.status == "inconclusive":
                assert status != "violated" or c.name in LIVENESS, (path.name, store, c.name, c.note)
                continue
            assert c.status == status, (path.name, store, c.name)
            if status == "violated" and c.name not in LIVENESS:
                assert len(c.trace) == length, (path.name, store, c.name)

    got = ircheck.check_file(path, engine="smt", timeout=4)  # what it decides in 4 s must agree
    assert not got.errors, path
    for c in got.checks:
        status, _msg, length, _loop = want[c.name]
        if c.status == "inconclusive":
            continue
        assert c.status == status, (path.name, "smt", c.name, c.message, c.note)
        if status == "violated" and c.name not in LIVENESS and c.name != "lockdep":
            assert len(c.trace) == length, (path.name, "smt", c.name)
