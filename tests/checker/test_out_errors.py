"""Issue 19, item 14: error messages that help a newcomer - `irq 3` in a device, a missing `}`, an
unknown name (did you mean a declared name of the right kind), a binary file at file:1:1."""

from __future__ import annotations

from pathlib import Path

import pytest

from ircheck.cli import main


def _errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes) -> str:
    m = tmp_path / "m.irq"
    if isinstance(text, bytes):
        m.write_bytes(text)
    else:
        m.write_text(text)
    assert main([str(m)]) == 2
    out, err = capsys.readouterr()
    return (out + err).replace(str(m), "m.irq")


def test_irq_number_in_a_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = _errors(tmp_path, capsys, "pic pic1 : i8259 { base 0x20 }\ndevice nic { irq 3 edge }\n")
    assert got == (
        "m.irq:2:18: error IRQ003: unexpected '3' after `irq`; expected a controller input PIC.N\n"
        "    device nic { irq 3 edge }\n"
        "                     ^\n"
        "    hint: a device's line is a controller input: write `irq PIC.N`, e.g. `irq pic1.3` "
        "(or `irq vector V` for a local APIC)\n")


def test_missing_brace_names_the_open_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = _errors(tmp_path, capsys, "pic master : i8259 { base 0x20 }\nhandler h {\n    if x {\n        eoi\n"
                  "    \nflag x\n")
    assert got == (
        "m.irq:6:6: error IRQ003: unexpected 'x'; expected a statement, '.', ';', '}'\n"
        "    flag x\n"
        "         ^\n"
        "    hint: a '}' is missing: `if x` opened at line 3 is not closed; so is `handler h` (line 2)\n")
    got = _errors(tmp_path, capsys, "pic master : i8259 { base 0x20 }\nthread app {\n    loop {\n        nop\n    }\n")
    assert got.splitlines()[-1] == "    hint: a '}' is missing: `thread app` opened at line 2 is not closed"


def test_unknown_name_did_you_mean_of_the_right_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = "pic master : i8259 { base 0x20 }\nspinlock rx_lock\ndata rx_lick\n"
    got = _errors(tmp_path, capsys, base + "thread app { spin_lock rx_lok; spin_unlock rx_lock }\n")
    assert got == (
        "m.irq:4:24: error IRQ102: unknown spinlock 'rx_lok'\n"
        "    thread app { spin_lock rx_lok; spin_unlock rx_lock }\n"
        "                           ^\n"
        "    hint: did you mean 'rx_lock'?\n")
    got = _errors(tmp_path, capsys, base + "thread app { spin_lock rx_lick; spin_unlock rx_lock }\n")
    assert got.splitlines()[0] == "m.irq:4:24: error IRQ103: 'rx_lick' is a data, not a spinlock"
    assert got.splitlines()[-1] == "    hint: did you mean 'rx_lock'?"
    got = _errors(tmp_path, capsys, base + "thread app { spin_lock zzz; spin_unlock rx_lock }\n")
    assert got.splitlines()[-1] == "    hint: the declared spinlocks: rx_lock"
    got = _errors(tmp_path, capsys, "pic master : i8259 { base 0x20 }\nthread app { mutex_lock m }\n")
    assert got.splitlines()[-1] == "    hint: no mutex is declared: declare it with `mutex NAME`"


def test_binary_file_at_1_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = _errors(tmp_path, capsys, b"\x7fELF\x02\x01\x01\x00\x00\x00\xd0\xff" * 10)
    assert got == ("m.irq:1:1: error IRQ008: this is a binary file, not a model (a NUL byte at offset 7)\n"
                   "    hint: give the path of a .irq text file\n")
