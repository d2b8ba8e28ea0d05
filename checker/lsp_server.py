"""`ircheck lsp`: the language server for `.irq` files (pygls over stdio; `pip install 'ircheck[lsp]'`).

What it does, per open document (full text sync):

* on open and on every change: the front end's diagnostics (parse and resolve, `lsp_check.front_end`);
  results of an earlier check on save are dropped, since they belong to another version;
* on save, and on the command `ircheck.check` (argument: the document's URI): the check itself under a
  short budget and `--suggest`'s repairs (`lsp_check.run_check`), in one worker thread so the reading
  loop never waits for it. A newer edit supersedes it: a run whose document changed before it started
  is skipped, a running search stops at its next progress report, and a result for a version that is
  no longer current is dropped. Its diagnostics are published with the front end's;
* hover, go to definition, references, completion and document symbols from `lsp_symbols` and
  `lsp_hover`; code actions: the repairs of the last check of the current version (a request waits
  for a check in progress); formatting: `ircheck fmt`.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from ircheck import __version__
from ircheck.lsp_check import (
    Checked,
    check_diagnostics,
    code_points,
    fix_actions,
    format_edits,
    front_end,
    run_check,
    span,
)
from ircheck.lsp_hover import completions, hover_text
from ircheck.lsp_symbols import Declared, Token, declarations, references, token_at, tokens

CHECK_COMMAND = "ircheck.check"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class IrcheckServer(LanguageServer):
    """The server's state: the front end's diagnostics and the last check per document URI."""

    def __init__(self) -> None:
        super().__init__("ircheck", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ircheck-check")
        self.front: dict[str, list[types.Diagnostic]] = {}
        self.checked: dict[str, Checked] = {}
        self.running: dict[str, asyncio.Future[Checked | None]] = {}
        self.versions: dict[str, int | None] = {}  # the current version, read by the worker thread

    def doc(self, uri: str) -> TextDocument:
        return self.workspace.get_text_document(uri)

    def current(self, uri: str) -> Checked | None:
        """The last check on save if it was made for the document's current version."""
        checked = self.checked.get(uri)
        return checked if checked is not None and checked.version == self.versions.get(uri) else None

    def publish(self, uri: str) -> None:
        doc = self.doc(uri)
        checked = self.current(uri)
        found = list(self.front.get(uri, []))
        if checked is not None:  # the check's input errors are the front end's, but for the lowering's
            found += [d for d in check_diagnostics(checked, uri, doc.source) if d not in found]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, version=doc.version, diagnostics=found))

    def edited(self, uri: str) -> None:
        doc = self.doc(uri)
        self.versions[uri] = doc.version
        self.front[uri] = front_end(doc.source, doc.path)
        self.publish(uri)

    async def check(self, uri: str) -> Checked | None:
        """Run the check on save for the document's current text (None when superseded)."""
        doc = self.doc(uri)
        source, path, version = doc.source, doc.path, doc.version

        def superseded() -> bool:
            return self.versions.get(uri) != version

        def job() -> Checked | None:
            if superseded():  # edited while it waited in the queue
                return None
            return run_check(source, path, version, superseded)

        future = asyncio.get_running_loop().run_in_executor(self.checker, job)
        self.running[uri] = future
        checked = await future
        if checked is None or self.versions.get(uri) != version:
            return None
        self.checked[uri] = checked
        self.publish(uri)
        return checked


def _declared(doc: TextDocument) -> tuple[list[Token], dict[str, Declared]]:
    toks = tokens(doc.source)
    return toks, declarations(toks)


def _at(doc: TextDocument, pos: types.Position) -> tuple[Token | None, dict[str, Declared], list[Token]]:
    toks, declared = _declared(doc)
    line, column = code_points(doc.source.splitlines(), pos)
    return token_at(toks, line, column), declared, toks


def _range(doc: TextDocument, t: Token) -> types.Range:
    return span(doc.source.splitlines(), t.line, t.start, t.end)


def _symbol_kind(d: Declared) -> types.SymbolKind:
    """Contexts are functions, controllers modules, devices objects, everything else variables."""
    if d.declaration.context:
        return types.SymbolKind.Function
    return {"controller": types.SymbolKind.Module, "device": types.SymbolKind.Object}.get(
        d.kind, types.SymbolKind.Variable)


def make_server() -> IrcheckServer:
    """The server with every feature registered."""
    server = IrcheckServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: IrcheckServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.edited(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: IrcheckServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.edited(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: IrcheckServer, params: types.DidSaveTextDocumentParams) -> None:
        await ls.check(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: IrcheckServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        for table in (ls.front, ls.checked, ls.running, ls.versions):
            table.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.command(CHECK_COMMAND)
    async def check_command(ls: IrcheckServer, uri: str) -> dict[str, object] | None:
        checked = await ls.check(uri)
        if checked is None:
            return None
        return {"verdict": checked.report.verdict, "checks": {c.name: c.status for c in checked.report.checks},
                "fixes": [f.description for f in checked.fixes]}

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: IrcheckServer, params: types.HoverParams) -> types.Hover | None:
        doc = ls.doc(params.text_document.uri)
        t, declared, _ = _at(doc, params.position)
        text = hover_text(t.text, declared, doc.source.splitlines()) if t is not None else None
        if t is None or text is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
                           range=_range(doc, t))

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: IrcheckServer, params: types.DefinitionParams) -> types.Location | None:
        doc = ls.doc(params.text_document.uri)
        t, declared, _ = _at(doc, params.position)
        if t is None or t.text not in declared:
            return None
        return types.Location(uri=doc.uri, range=_range(doc, declared[t.text].token))

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    def refs(ls: IrcheckServer, params: types.ReferenceParams) -> list[types.Location] | None:
        doc = ls.doc(params.text_document.uri)
        t, declared, toks = _at(doc, params.position)
        if t is None or t.text not in declared:
            return None
        skip = None if params.context.include_declaration else declared[t.text].token
        return [types.Location(uri=doc.uri, range=_range(doc, r)) for r in references(toks, t.text) if r != skip]

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[" "]))
    def complete(ls: IrcheckServer, params: types.CompletionParams) -> types.CompletionList:
        doc = ls.doc(params.text_document.uri)
        lines = doc.source.splitlines()
        line, column = code_points(lines, params.position)
        text = lines[line][:column] if line < len(lines) else ""
        words = _NAME.findall(text.split("#", 1)[0])
        if words and text[-1:] and (text[-1].isalnum() or text[-1] == "_"):
            words.pop()  # the word being typed
        toks, declared = _declared(doc)
        depth = 0
        for t in toks:
            if (t.line, t.start) >= (line, column):
                break
            depth = t.depth + (1 if t.text == "{" else 0)
        return types.CompletionList(is_incomplete=False, items=completions(words, depth, declared))

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def symbols(ls: IrcheckServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        doc = ls.doc(params.text_document.uri)
        _, declared = _declared(doc)
        lines = doc.source.splitlines()
        return [types.DocumentSymbol(
            name=d.name, detail=d.declaration.keyword, kind=_symbol_kind(d),
            range=types.Range(start=span(lines, d.first.line, d.first.start, d.first.start).start,
                              end=span(lines, d.last.line, d.last.end, d.last.end).end),
            selection_range=_range(doc, d.token)) for d in declared.values()]

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION)
    async def code_action(ls: IrcheckServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        running = ls.running.get(uri)
        if running is not None and not running.done():
            await asyncio.shield(running)
        checked = ls.current(uri)
        if checked is None or not checked.fixes:
            return None
        source = ls.doc(uri).source
        return fix_actions(checked, uri, source, check_diagnostics(checked, uri, source), params.range) or None

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: IrcheckServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
        doc = ls.doc(params.text_document.uri)
        return format_edits(doc.source, doc.path)

    return server


def serve() -> None:
    """Serve one client on stdin/stdout until it exits. The protocol gets its own copies of file
    descriptors 0 and 1 (the server closes them at exit); `sys.stdout` becomes stderr, so that a stray
    print can never corrupt a message."""
    with os.fdopen(os.dup(0), "rb") as stdin, os.fdopen(os.dup(1), "wb") as stdout:
        sys.stdout = sys.stderr
        make_server().start_io(stdin, stdout)
