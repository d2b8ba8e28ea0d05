"""spec/language.py is the one table of the language: everything that spells the vocabulary
out agrees with it."""

from __future__ import annotations

from ircheck.spec import kernel, language, resolve
from ircheck.spec.language import (
    ACQUIRES,
    BARE_STATEMENTS,
    DECLARATIONS,
    KERNEL_STATEMENTS,
    RELEASES,
    SPIN_PAIRS,
    STATEMENT,
    STATEMENTS,
    Layer,
)


def test_keywords_are_unique_and_lookups_are_derived() -> None:
    assert len({s.keyword for s in STATEMENTS}) == len(STATEMENTS)
    assert len({d.keyword for d in DECLARATIONS}) == len(DECLARATIONS)
    assert all(STATEMENT[s.keyword] is s for s in STATEMENTS)
    assert BARE_STATEMENTS | KERNEL_STATEMENTS == language.STATEMENT_KEYWORDS
    assert not BARE_STATEMENTS & KERNEL_STATEMENTS


def test_lock_pairs_point_at_each_other() -> None:
    for s in STATEMENTS:
        if s.lock is not None:
            other = STATEMENT[s.lock.pair]
            assert other.lock is not None and other.lock.pair == s.keyword
            assert other.lock.acquire != s.lock.acquire and other.lock.kind == s.lock.kind
            assert other.lock.flavour == s.lock.flavour


def test_the_lowering_sets_agree_with_the_table() -> None:
    """spec/kernel.py's sets (not edited while the lowering is split) equal the table's views."""
    assert kernel.ACQUIRE_OPS == ACQUIRES
    assert kernel.RELEASE_OPS == RELEASES
    assert resolve.SPIN_OPS == SPIN_PAIRS
    # every kernel statement but sleep_on (compiled to wait_prepare/wait_sleep nodes only) reaches
    # lower_kernel_stmt; wait_event/epoll_wait are ast.Wait, never an ast.Simple
    simple_kernel = {s.keyword for s in STATEMENTS if s.layer is Layer.KERNEL
                     and s.syntax is not language.Syntax.WAIT}
    assert kernel.KERNEL_STMTS == simple_kernel - {"sleep_on"}
