"""`ircheck lsp`: start the language server (checker/lsp_server.py) on stdin/stdout.

The server needs the `lsp` extra (pygls and lsprotocol: `pip install 'ircheck[lsp]'`); without it
`ircheck lsp` says so on stderr and exits 2. `ircheck lsp --help` works either way.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ircheck.tools import subcommand_args

MISSING = "ircheck lsp: the language server needs pygls and lsprotocol: pip install 'ircheck[lsp]'"


def lsp_main(argv: Sequence[str]) -> int:
    """Serve one editor over stdio until it exits (0); 2 when the extra is missing or an option is bad."""
    def build(p: argparse.ArgumentParser) -> None:
        p.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default and only transport)")
    args = subcommand_args("ircheck lsp", argv, build)
    if isinstance(args, int):
        return args
    try:
        from ircheck.lsp_server import serve  # an optional dependency: imported only when serving
    except ImportError as e:
        print(f"{MISSING} ({e})", file=sys.stderr)
        return 2
    serve()
    return 0
