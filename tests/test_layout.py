"""The test suite's own layout: shared code lives in tests/support/, never in a test module."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# a test module imported from another one: its tests and fixtures leak, and a helper has two homes
_FROM_TEST_MODULE = re.compile(r"^\s*(from\s+tests\.(checker|spec|grammar|docs)\.test_\w*\s+import|"
                               r"import\s+tests\.(checker|spec|grammar|docs)\.test_)", re.M)


def test_no_test_module_imports_another() -> None:
    bad = []
    for path in sorted(TESTS.rglob("*.py")):
        for m in _FROM_TEST_MODULE.finditer(path.read_text(encoding="utf-8")):
            line = path.read_text(encoding="utf-8").count("\n", 0, m.start()) + 1
            bad.append(f"{path.relative_to(TESTS.parent)}:{line}: {m.group(0).strip()}")
    assert not bad, "import from tests/support/ instead:\n" + "\n".join(bad)


def test_the_pattern_sees_what_it_must() -> None:
    assert _FROM_TEST_MODULE.search("from tests.checker.test_spin import spin_violates")
    assert _FROM_TEST_MODULE.search("    from tests.spec.test_rules import Model")
    assert _FROM_TEST_MODULE.search("from tests.grammar.test_parser import x")
    assert _FROM_TEST_MODULE.search("import tests.checker.test_engine_agreement")
    assert not _FROM_TEST_MODULE.search("from tests.support.naive import Naive")
    assert not _FROM_TEST_MODULE.search("from tests.conftest import MODELS")


def test_support_holds_no_tests() -> None:
    """tests/support/ is imported, never collected: no test_ modules there."""
    assert not list((TESTS / "support").glob("test_*.py"))


# a test asserting on wall time or signals: under a neighbour's load (CI's two workers) it would fail at random
_TIMED = re.compile(r"time\.(perf_counter|monotonic|time)\(\)\s*-|signal\.SIG|send_signal|ru_maxrss")


def test_timed_modules_run_serially() -> None:
    from tests.conftest import SERIAL

    timed = {p.stem for p in TESTS.rglob("test_*.py") if _TIMED.search(p.read_text(encoding="utf-8"))}
    # test_deep_stress only stops drawing at its time budget (it asserts nothing on time); this module
    # holds the pattern itself
    assert timed - SERIAL - {"test_deep_stress", "test_layout"} == set(), "add them to tests/conftest.py SERIAL (CI runs those alone)"
    assert SERIAL <= {p.stem for p in TESTS.rglob("test_*.py")}, "SERIAL names a module that is gone"
