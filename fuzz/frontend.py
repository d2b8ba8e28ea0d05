"""Coverage-guided fuzzing of the front end with atheris: text -> parse -> resolve -> lower.

The promise under test: whatever bytes a `.irq` file holds, ircheck answers with its own coded
diagnostics (IrcheckError, codes IRQnnn with a line and column) or a TransitionSystem - never
another exception, a hang or a memory blow-up. Seeds are the bundled models; atheris mutates them
(byte flips, splices, inserted dictionary words) guided by the branches it reaches.

    python fuzz/frontend.py -max_total_time=60 CORPUS_DIR [SEED_DIR ...]

atheris writes new inputs into the first directory: pass a scratch copy, not models/.
tests/grammar/test_fuzz.py runs it for a bounded time in CI.
"""

from __future__ import annotations

import re
import sys

import atheris

with atheris.instrument_imports():
    from ircheck.api import compile_source
    from ircheck.grammar.diagnostics import IrcheckError

_CODE = re.compile(r"IRQ\d{3}")


def test_one_input(data: bytes) -> None:
    text = data.decode("utf-8", errors="replace")
    try:
        compile_source(text, "fuzz.irq")
    except IrcheckError as e:
        for d in e.diagnostics:
            if not _CODE.fullmatch(d.code) or d.line < 0 or d.column < 0 or not d.message:
                raise AssertionError(f"malformed diagnostic {d!r}") from e
            d.render()  # rendering with the source must not fail either


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
