"""L7: request_irq's -EBUSY / -EINVAL are static diagnostics at the line that causes them.

The models/errors/*.irq designs are refused; each whose first line says `# expect-error: CODE line N: TEXT`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ircheck

FIXTURES = sorted((Path(__file__).parents[2] / "models" / "errors").glob("*.irq"))


def test_there_are_error_fixtures() -> None:
    assert len(FIXTURES) >= 3


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_request_irq_error(path: Path) -> None:
    head = path.read_text().splitlines()[0]
    m = re.match(r"# expect-error: (IRQ\d+) line (\d+): (.*)", head)
    assert m, head
    code, line, text = m.group(1), int(m.group(2)), m.group(3)
    report = ircheck.check_file(path)
    assert report.exit_code == 2
    assert [(d.code, d.line) for d in report.errors] == [(code, line)]  # one error, no follow-on noise
    assert text in report.errors[0].message
