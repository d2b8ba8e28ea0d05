"""The lowering's dispatch tables (spec/dispatch.py) and the language table (spec/language.py) agree:
every statement the resolver accepts has a lowering, and every lowering has a statement or a CFG node
that the CFG builder makes."""

from __future__ import annotations

from ircheck.spec.dispatch import NODE_LOWERINGS, STMT_LOWERINGS
from ircheck.spec.language import STATEMENTS, Shape

# the CFG locations each shape compiles to (spec/cfg.py); "stmt" is a plain statement location
SHAPE_NODES: dict[Shape, tuple[str, ...]] = {
    Shape.STEP: ("stmt",), Shape.CALL: ("call", "ret"), Shape.IRET: ("iret",), Shape.RETURN: ("stmt",),
    Shape.WAIT: ("wait_prepare", "wait_test", "wait_sleep"), Shape.SLEEP_ON: ("wait_prepare", "wait_sleep"),
    Shape.SYNC: ("sync_wait",), Shape.STEP_THEN_SYNC: ("stmt", "sync_wait"),
    Shape.SYNC_THEN_STEP: ("sync_wait", "stmt"), Shape.TEST: ("test",),
    Shape.SCHEDULE: ("wait_sleep",), Shape.COMPLETION: ("wait_prepare", "wait_sleep"),
    Shape.CANCEL: ("stmt",),
    Shape.RETRY: ("seq_begin", "seq_retry"),
    Shape.PROBE_ON: ("stmt", "probe_wait"),
}
# locations that are no statement's: control structure (if/while/loop), ends, the genirq flow handler,
# a probed line's probe stub (C2)
STRUCTURE_NODES = {"test", "choose", "goto", "end", "thread_done", "flow_entry", "flow_done", "flow_end", "probe_stub"}


def test_every_shape_is_known() -> None:
    assert set(SHAPE_NODES) == set(Shape)


def test_every_statement_has_a_lowering() -> None:
    for s in STATEMENTS:
        kinds = SHAPE_NODES[s.shape]
        assert all(k in NODE_LOWERINGS for k in kinds), s.keyword
        if "stmt" in kinds:
            assert s.keyword in STMT_LOWERINGS, s.keyword


def test_every_lowering_has_a_statement_or_node() -> None:
    plain = {s.keyword for s in STATEMENTS if "stmt" in SHAPE_NODES[s.shape]}
    assert set(STMT_LOWERINGS) <= plain, set(STMT_LOWERINGS) - plain
    made = {k for kinds in SHAPE_NODES.values() for k in kinds} | STRUCTURE_NODES
    assert set(NODE_LOWERINGS) == made, set(NODE_LOWERINGS) ^ made

