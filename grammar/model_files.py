"""Reading a model file the careful way: only a regular file, never more than MAX_SOURCE_BYTES,
UTF-8 (a byte-order mark dropped, a binary file refused), every line ending made `\\n`. Errors are
`IrcheckError`s with codes IRQ005 (size), IRQ007 (the file), IRQ008 (the encoding).
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

from ircheck.grammar.diagnostics import Diagnostic, IrcheckError

MAX_SOURCE_BYTES = 4 * 1024 * 1024


def _file_error(code: str, message: str, path: str, hint: str = "", source: str = "",
                line: int = 1, column: int = 1) -> IrcheckError:
    return IrcheckError([Diagnostic(code, message, path, line, column, hint)], source)


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_model_bytes(path: str | Path) -> bytes:
    """The bytes of a model file, read the careful way: only a regular file (a FIFO, a device or a
    directory is refused, and opening never blocks on a FIFO without a writer), and never more than
    MAX_SOURCE_BYTES + 1 bytes (a huge file is refused before it is read). Raises IrcheckError
    (IRQ007 the file, IRQ005 the size) at file:1:1."""
    name = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:  # no such file, no permission: there is no line to point at
        raise _file_error("IRQ007", f"cannot read file: {e.strerror or e}", name, line=0, column=0) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((k for test, k in _KINDS if test(st.st_mode)), "not a regular file")
            raise _file_error("IRQ007", f"cannot read file: it is {kind}, not a regular file", name,
                              "give the path of a .irq file" + (" (or the directory to `ircheck` itself)"
                                                               if stat.S_ISDIR(st.st_mode) else ""))
        if st.st_size > MAX_SOURCE_BYTES:
            raise too_large(name)
        chunks: list[bytes] = []
        left = MAX_SOURCE_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:  # the file grew while we read it, or reports no size (/proc)
            raise too_large(name)
        return b"".join(chunks)
    except OSError as e:
        raise _file_error("IRQ007", f"cannot read file: {e.strerror or e}", name, line=0, column=0) from None
    finally:
        os.close(fd)


def too_large(path: str) -> IrcheckError:
    return _file_error("IRQ005", f"model is larger than {MAX_SOURCE_BYTES >> 20} MiB", path,
                       "a model describes a design, not data: split or shrink it")


def decode_model(raw: bytes, path: str) -> str:
    """UTF-8 text (a leading byte-order mark is dropped); IRQ008 at the line and column of the first
    byte that is not UTF-8, with that line shown (the bad byte as U+FFFD); a binary file (a NUL byte
    in its first 8,000 bytes) is IRQ008 at file:1:1, with nothing shown."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    nul = raw.find(b"\0", 0, 8000)
    if nul >= 0:  # git's test for a binary file: no line of it is worth showing
        raise _file_error("IRQ008", f"this is a binary file, not a model (a NUL byte at offset {nul})", path,
                          "give the path of a .irq text file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        before = normalise_newlines(raw[:e.start].decode("utf-8", "replace"))
        line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
        shown = normalise_newlines(raw.decode("utf-8", "replace"))
        raise _file_error("IRQ008", f"file is not UTF-8 text (byte {e.start}: 0x{raw[e.start]:02x})", path,
                          "save the model as UTF-8", shown, line, column) from None


def normalise_newlines(text: str) -> str:
    """`\\r\\n` and a lone `\\r` (old Mac files) become `\\n`, so that line numbers count every line."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
