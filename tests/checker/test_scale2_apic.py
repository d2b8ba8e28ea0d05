"""Issue 24 item 5: the local APIC's EOI is one transition (the highest in-service vector cleared by a
binary decision on ISR) plus the "nothing in service" one, whatever the number of vectors; it
explores the graph of the per-vector variants (checked on every bundled model by comparison)."""

from __future__ import annotations

import itertools

from ircheck.api import compile_source
from ircheck.spec.ts import evaluate
from tests.support.generators import apic_vectors as apic


def test_eoi_is_linear_in_the_vectors() -> None:
    ts = compile_source(apic(60))
    eois = [t for t in ts.transitions if t.label.action == "eoi"]
    assert len(eois) == 2 * 60  # per handler: clear the top in-service vector, or nothing in service


def test_eoi_clears_the_highest_in_service_vector() -> None:
    ts = compile_source(apic(5))
    isr = ts.var_index("lapic.ISR")
    eoi = next(t for t in ts.transitions if t.label.action == "eoi" and not t.violates)
    (vi, e), = [(vi, e) for vi, e in eoi.updates if vi == isr]
    for bits in itertools.product((0, 1), repeat=5):
        v = sum(b << k for k, b in enumerate(bits))
        s = tuple(v if i == isr else 0 for i in range(len(ts.vars)))
        if v:
            assert evaluate(e, s) == v & ~(1 << (v.bit_length() - 1))
