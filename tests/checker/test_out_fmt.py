"""Issue 19, item 4: `ircheck fmt` keeps every comment and blank-line grouping, is idempotent, and
calls the bundled models canonical."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ircheck.cli import main
from ircheck.grammar.parser import parse
from ircheck.grammar.printer import comments, format_source
from tests.conftest import ROOT

BUNDLED = sorted([*ROOT.glob("models/*.irq"), *ROOT.glob("models/errors/*.irq"), *ROOT.glob("docs/tutorial/*.irq")])

MESSY = """# header


pic master:i8259{base 0x20}
device nic {irq master . 3 edge raises 2}\x20\x20\x20
\tidt { 0x23 -> h interrupt_gate dpl 0
  0x24 -> g trap_gate }
handler h {
eoi # ack
        if not (a and b) {  # branch
   read x;write x
}



    # before close
}
handler g { eoi }
flag a
flag b
data x
check invariant a+b <= 1 ,no_lost_irq


"""

CANONICAL = """# header

pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 2 }
idt { 0x23 -> h interrupt_gate dpl 0
      0x24 -> g trap_gate }
handler h {
    eoi  # ack
    if not (a and b) {  # branch
        read x; write x
    }

    # before close
}
handler g { eoi }
flag a
flag b
data x
check invariant a + b <= 1, no_lost_irq
"""


def test_fmt_write_keeps_an_inline_comment(tmp_path: Path) -> None:
    m = tmp_path / "m.irq"
    m.write_text("pic master : i8259 { base 0x20 }\nhandler h {\n    eoi  # ack\n}\n")
    assert main(["fmt", "--write", str(m)]) == 0
    assert m.read_text() == "pic master : i8259 { base 0x20 }\nhandler h {\n    eoi  # ack\n}\n"


def test_fmt_normalises_layout_and_keeps_comments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert format_source(MESSY) == CANONICAL
    assert format_source(CANONICAL) == CANONICAL
    m = tmp_path / "m.irq"
    m.write_text(MESSY)
    assert main(["fmt", "--check", str(m)]) == 1
    assert capsys.readouterr().err == f"{m}: not in canonical form\n"
    assert main(["fmt", "--write", str(m)]) == 0
    assert m.read_text() == CANONICAL
    assert main(["fmt", "--check", str(m)]) == 0
    assert main(["fmt", str(m)]) == 0
    assert capsys.readouterr().out == CANONICAL


def test_fmt_line_endings(tmp_path: Path) -> None:
    m = tmp_path / "m.irq"
    m.write_bytes(b"pic master : i8259 { base 0x20 }\r\n# note\r\n")
    assert main(["fmt", "--check", str(m)]) == 1
    assert main(["fmt", "--write", str(m)]) == 0
    assert m.read_bytes() == b"pic master : i8259 { base 0x20 }\n# note\n"


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(ROOT)))
def test_fmt_of_a_bundled_model_keeps_everything(path: Path) -> None:
    src = path.read_text()
    out = format_source(src)
    assert Counter(comments(out)) == Counter(comments(src))  # every comment text, as a multiset
    assert len(comments(src)) >= 1
    assert parse(out, str(path)).decls == parse(src, str(path)).decls
    assert format_source(out) == out  # idempotent
    assert out == src  # the bundled models are canonical


def test_fmt_check_accepts_the_bundled_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", "--check", *map(str, BUNDLED)]) == 0
    assert capsys.readouterr().err == ""
