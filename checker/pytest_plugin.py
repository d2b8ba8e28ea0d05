"""pytest plugin: `pytest models/` checks every `.irq` file, one test item per check.

Registered through the `pytest11` entry point. The expectation of each check comes from the
model's `# expect: no_lost_irq violated, no_starvation holds` header; a model without one is
expected to hold every check it runs. A failing item prints the text counterexample. A design
that must be refused says `# expect-error: IRQ501 line 18: TEXT` (the one coded error, its line,
and words of its message), e.g. a request_irq conflict the kernel would answer with -EBUSY.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ircheck.api import check_file
from ircheck.report import text
from ircheck.result import Report
from ircheck.spec.checks import IMPLICIT_CHECKS

_EXPECT = re.compile(r"^#\s*expect:\s*(.+)$", re.M)
_STATUS = ("holds", "violated", "inconclusive")
_EXPECT_ERROR = re.compile(r"^#\s*expect-error:\s*(IRQ\d+)\s+line\s+(\d+)(?::\s*(.*))?$", re.M)


def expected_error(source: str) -> tuple[str, int, str] | None:
    """The `# expect-error: CODE line N: TEXT` header, if any."""
    m = _EXPECT_ERROR.search(source)
    return (m.group(1), int(m.group(2)), (m.group(3) or "").strip()) if m else None


def expectations(source: str) -> dict[str, str] | None:
    """The `# expect:` header as {check: status}; None when the model has none."""
    m = _EXPECT.search(source)
    if not m:
        return None
    out: dict[str, str] = {}
    for part in m.group(1).split(","):
        words = part.split()
        if len(words) != 2 or words[1] not in _STATUS:
            raise ValueError(f"bad '# expect:' entry {part.strip()!r} (want 'CHECK holds|violated|inconclusive')")
        out[words[0]] = words[1]
    return out


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".irq":
        return IrqFile.from_parent(parent, path=file_path)
    return None


class IrqFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        report = check_file(self.path)
        want_error = expected_error(self.path.read_text())
        if want_error is not None:
            yield IrqItem.from_parent(self, name="error", report=report, check=None, expected="error",
                                      error=want_error)
            return
        if report.errors:
            yield IrqItem.from_parent(self, name="model", report=report, check=None, expected="holds")
            return
        try:
            expected = expectations(self.path.read_text())
        except ValueError as e:
            raise self.CollectError(str(e)) from None
        names = [c.name for c in report.checks]
        stated = expected or {}
        for name, want in stated.items():
            if name not in names:  # the header names a check the model does not run: a failing item
                yield IrqItem.from_parent(self, name=name, report=report, check=name, expected=want)
        for name in names:
            want = stated.get(name, "holds" if expected is None or name in IMPLICIT_CHECKS else "")
            if want:
                yield IrqItem.from_parent(self, name=name, report=report, check=name, expected=want)


class IrqFailure(Exception):
    pass


class IrqItem(pytest.Item):
    def __init__(self, *, report: Report, check: str | None, expected: str,
                 error: tuple[str, int, str] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.report = report
        self.check = check
        self.expected = expected
        self.error = error

    def runtest(self) -> None:
        if self.error is not None:
            code, line, words = self.error
            found = [(d.code, d.line) for d in self.report.errors]
            if found != [(code, line)] or words not in self.report.errors[0].message:
                raise IrqFailure(f"expected exactly error {code} at line {line} ({words!r}), got:\n"
                                 + text(self.report))
            return
        if self.report.errors:
            raise IrqFailure("the model does not check:\n" + text(self.report))
        got = next((c.status for c in self.report.checks if c.name == self.check), None)
        if got is None:
            raise IrqFailure(f"'# expect:' names {self.check}, but the model does not run that check")
        if got != self.expected:
            raise IrqFailure(f"{self.check}: expected {self.expected}, got {got}\n\n" + text(self.report))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, IrqFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # The domain is the item's own name: pytest writes a dotted domain with `::` for dots
        # (`x.irq::check` became `x::irq::check`), and the IDs it prints must select the item again.
        return self.path, None, self.name
