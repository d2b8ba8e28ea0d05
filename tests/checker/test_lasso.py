"""The lasso of a starvation shows one turn of its loop (issue 16 item 16).

`liveness._lasso` builds the loop group by group (for each fairness group: reach a state where it
is disabled or take one of its steps) and may go round more than once; the printed loop is cut to
one turn that is still fair, the same length as the Z3 engine's on the same model."""

from __future__ import annotations

import pytest

import ircheck
from tests.conftest import MODELS


@pytest.mark.parametrize(("model", "loop"), [("level_no_ack_storm", (3, 6)), ("timer_flood_starves_disk", (3, 7)),
                                             ("x86_timer_storm_fully_nested", (3, 7)),
                                             ("thread_cli_forever", (4, 5))])
def test_the_loop_is_printed_once(model: str, loop: tuple[int, int]) -> None:
    res = ircheck.check_file(MODELS / f"{model}.irq").check("no_starvation")
    assert res.status == "violated" and res.loop_start == loop[0] and len(res.trace) == loop[1]
    body = [(s.context, s.action) for s in res.trace[loop[0] - 1:]]
    half = len(body) // 2
    assert len(body) < 2 or body[:half] != body[half:], "two turns of the same loop"


def test_the_explicit_loop_is_as_short_as_the_smt_one() -> None:
    path = MODELS / "level_no_ack_storm.irq"
    explicit = ircheck.check_file(path).check("no_starvation")
    smt = ircheck.check_file(path, engine="smt").check("no_starvation")
    assert (explicit.loop_start, len(explicit.trace)) == (smt.loop_start, len(smt.trace)) == (3, 6)
