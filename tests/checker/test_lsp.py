"""`ircheck lsp` through a real client: pygls's language client speaks the protocol over a pipe to
the server process (`python -m ircheck lsp`), one server per test; every answer is asserted exactly."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from lsprotocol import types as t
from pygls.lsp.client import LanguageClient

from ircheck.api import check_source
from ircheck.cli import main
from ircheck.lsp_check import (
    Checked,
    check_diagnostics,
    code_points,
    format_edits,
    item_range,
    run_check,
    text_edits,
)
from ircheck.lsp_server import CHECK_COMMAND
from ircheck.spec.checks import ALL_CHECKS
from ircheck.spec.language import DECLARATIONS
from tests.conftest import MODELS, ROOT
from tests.support.cli import argv
from tests.support.generators import nested_pic_file

LOST_WAKEUP = MODELS / "lang_lost_wakeup.irq"
DEADLOCK = MODELS / "lang_deadlock_spin_lock.irq"
MASKED = MODELS / "masked_forever.irq"
ERROR, WARNING = t.DiagnosticSeverity.Error, t.DiagnosticSeverity.Warning


class Client(LanguageClient):
    """A client that keeps each publishDiagnostics it receives, in order, for `published` to take."""

    def __init__(self) -> None:
        super().__init__("ircheck-tests", "1")
        self.inbox: asyncio.Queue[t.PublishDiagnosticsParams] = asyncio.Queue()

        @self.feature(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish(client: Client, params: t.PublishDiagnosticsParams) -> None:
            client.inbox.put_nowait(params)

    async def published(self, uri: str) -> list[t.Diagnostic]:
        """The next diagnostics published (for `uri`)."""
        params = await self.inbox.get()
        assert params.uri == uri
        return list(params.diagnostics)


def drive(scenario: Callable[[Client], Awaitable[None]], *options: str) -> None:
    """Start the server (`ircheck lsp OPTIONS`), initialise a session, run `scenario` (at most 30 s),
    shut the server down; the server must exit with status 0 and write nothing on stderr."""
    async def main() -> None:
        client = Client()
        await client.start_io(*argv("lsp", *options))
        server = client._server
        assert server is not None and server.stderr is not None
        stderr = asyncio.create_task(server.stderr.read())  # drained, so the server never blocks on it
        try:
            await client.initialize_async(t.InitializeParams(capabilities=t.ClientCapabilities()))
            client.initialized(t.InitializedParams())
            await asyncio.wait_for(scenario(client), 30)
            await client.shutdown_async(None)
            client.exit(None)
            await asyncio.wait_for(server.wait(), 10)
        finally:
            if server.returncode is None:  # the scenario failed: do not wait for an exit that is not coming
                server.kill()
            await client.stop()
            said = (await stderr).decode(errors="replace")
        assert server.returncode == 0 and said == "", said
    asyncio.run(main())


def uri_of(path: Path) -> str:
    return path.resolve().as_uri()


def doc(uri: str) -> t.TextDocumentIdentifier:
    return t.TextDocumentIdentifier(uri=uri)


def rng(line: int, start: int, end: int, end_line: int | None = None) -> t.Range:
    return t.Range(start=t.Position(line=line, character=start),
                   end=t.Position(line=line if end_line is None else end_line, character=end))


async def opened(client: Client, uri: str, text: str) -> list[t.Diagnostic]:
    client.text_document_did_open(t.DidOpenTextDocumentParams(
        text_document=t.TextDocumentItem(uri=uri, language_id="irq", version=1, text=text)))
    return await client.published(uri)


async def changed(client: Client, uri: str, version: int, text: str) -> list[t.Diagnostic]:
    client.text_document_did_change(t.DidChangeTextDocumentParams(
        text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[t.TextDocumentContentChangeWholeDocument(text=text)]))
    return await client.published(uri)


async def saved(client: Client, uri: str) -> list[t.Diagnostic]:
    client.text_document_did_save(t.DidSaveTextDocumentParams(text_document=doc(uri)))
    return await client.published(uri)


def error(r: t.Range, code: str, message: str) -> t.Diagnostic:
    return t.Diagnostic(range=r, message=message, severity=ERROR, code=code, source="ircheck")


def test_syntax_and_resolution_errors_as_you_type() -> None:
    text = LOST_WAKEUP.read_text()
    uri = uri_of(LOST_WAKEUP)

    async def scenario(client: Client) -> None:
        typo = text.replace("sleep_on rx_wait", "slep_on rx_wait")
        assert await opened(client, uri, typo) == [error(
            rng(15, 39, 46), "IRQ003", "unexpected 'slep_on'; expected a statement, ';', '}'\n"
                                       "hint: did you mean 'sleep_on'?")]
        unknown = text.replace("wake_up rx_wait", "wake_up rx_wiat")
        assert await changed(client, uri, 2, unknown) == [error(
            rng(14, 40, 47), "IRQ102", "unknown waitqueue 'rx_wiat'\nhint: did you mean 'rx_wait'?")]
        # the check on save of a model with an input error says the same once
        assert await saved(client, uri) == [error(
            rng(14, 40, 47), "IRQ102", "unknown waitqueue 'rx_wiat'\nhint: did you mean 'rx_wait'?")]
        assert await changed(client, uri, 3, text) == []
    drive(scenario, "--stdio")  # as VS Code's client starts it


def test_lost_wakeup_on_save_with_its_trace_and_the_editor_features() -> None:
    text = LOST_WAKEUP.read_text()
    uri = uri_of(LOST_WAKEUP)

    async def scenario(client: Client) -> None:
        assert await opened(client, uri, text) == []
        steps = [(15, 75, "step 1: cpu0 thread app: if not rx_ready  (true)"),
                 (10, 41, "step 2: device nic: raise IRQ 3 (master.3, edge)"),
                 (11, 44, "step 3: cpu0 thread app: take IRQ 3: INTA, vector 0x23 -> nic_isr (interrupt gate, IF=0)"),
                 (14, 54, "step 4: cpu0 irq 3 nic_isr (nested over thread app): set rx_ready"),
                 (14, 54, "step 5: cpu0 irq 3 nic_isr (nested over thread app): wake_up rx_wait"),
                 (14, 54, "step 6: cpu0 irq 3 nic_isr (nested over thread app): eoi"),
                 (14, 54, "step 7: cpu0 irq 3 nic_isr (nested over thread app): iret (end of handler)"),
                 (15, 75, "step 8: cpu0 thread app: sleep_on rx_wait: state = sleeping")]
        violation = t.Diagnostic(
            range=rng(15, 0, 75), severity=ERROR, code="no_lost_wakeup", source="ircheck",
            message="no_lost_wakeup violated: thread app sleeps for ever on rx_wait although `rx_ready` is true: "
                    "the wake_up came before it slept (lost wake-up, W1)",
            related_information=tuple(t.DiagnosticRelatedInformation(
                location=t.Location(uri=uri, range=rng(line, 0, end)), message=m) for line, end, m in steps))
        assert await saved(client, uri) == [violation]

        actions = await client.text_document_code_action_async(t.CodeActionParams(
            text_document=doc(uri), range=rng(15, 0, 0), context=t.CodeActionContext(diagnostics=[])))
        assert actions is not None and list(actions) == [t.CodeAction(
            title="ircheck: thread app: `if not rx_ready { sleep_on rx_wait }` -> `wait_event rx_wait until rx_ready`",
            kind=t.CodeActionKind.QuickFix, diagnostics=(violation,), is_preferred=True,
            edit=t.WorkspaceEdit(changes={uri: (t.TextEdit(
                range=rng(15, 0, 0, end_line=16),
                new_text="thread app on cpu0 { wait_event rx_wait until rx_ready; clear rx_ready }\n"),)}))]

        # hover: a declared name, a statement (its row of the language table, then its rule), a check
        name = await client.text_document_hover_async(t.HoverParams(text_document=doc(uri),
                                                                    position=t.Position(line=15, character=50)))
        assert name == t.Hover(contents=t.MarkupContent(
            kind=t.MarkupKind.Markdown,
            value="**rx_wait**: waitqueue (`waitqueue`, line 14)\n\n```irq\nwaitqueue rx_wait\n```"), range=rng(15, 48, 55))
        stmt = await client.text_document_hover_async(t.HoverParams(text_document=doc(uri),
                                                                    position=t.Position(line=15, character=39)))
        assert stmt is not None and isinstance(stmt.contents, t.MarkupContent) and stmt.range == rng(15, 39, 47)
        assert stmt.contents.value.startswith(
            "**`sleep_on`** statement\n\n- acts on: a wait queue\n- operand: a waitqueue (waitqueue)\n"
            "- may appear in: any code context; layer: the Linux kernel layer; lowered by: `wait_queue`\n"
            "- steps: wait_prepare, wait_sleep (W1); **may sleep**\n\n**D4 Sleeping in atomic context** "
            "(docs/semantics.md)\n\n**ircheck:** ")
        assert stmt.contents.value.endswith("See also W1 Lost wake-up, R5 The wait queue API.")
        check = await client.text_document_hover_async(t.HoverParams(text_document=doc(uri),
                                                                     position=t.Position(line=16, character=8)))
        assert check is not None and isinstance(check.contents, t.MarkupContent)
        assert check.contents.value.startswith(
            "**check `no_lost_wakeup`** (liveness, on by default)\n\nA task sleeps for ever although its condition "
            "is true.\n\nA task waiting on a wait queue never wakes up although the condition it waits for holds: "
            "the wake-up came between its test of the condition and its sleep (use wait_event, or set the "
            "condition before wake_up).\n\n**W1 Lost wake-up** (docs/semantics.md)\n\n**ircheck:** `sleep_on Q` is "
            "two steps")
        assert check.contents.value.endswith("See also W2 The correct waiter.")

        # definition and references of a declared name, from a use
        at_use = t.Position(line=14, character=42)
        assert await client.text_document_definition_async(t.DefinitionParams(text_document=doc(uri), position=at_use)) \
            == t.Location(uri=uri, range=rng(13, 10, 17))
        refs = await client.text_document_references_async(t.ReferenceParams(
            text_document=doc(uri), position=at_use, context=t.ReferenceContext(include_declaration=True)))
        assert refs is not None and list(refs) == [t.Location(uri=uri, range=r) for r in (rng(13, 10, 17), rng(14, 40, 47), rng(15, 48, 55))]
        refs = await client.text_document_references_async(t.ReferenceParams(
            text_document=doc(uri), position=at_use, context=t.ReferenceContext(include_declaration=False)))
        assert refs is not None and list(refs) == [t.Location(uri=uri, range=r) for r in (rng(14, 40, 47), rng(15, 48, 55))]

        # completion: names of the operand's kind, check names, declaration keywords
        async def labels(line: int, character: int) -> list[str]:
            got = await client.text_document_completion_async(t.CompletionParams(
                text_document=doc(uri), position=t.Position(line=line, character=character)))
            assert isinstance(got, t.CompletionList)
            return [i.label for i in got.items]
        assert await labels(14, 40) == ["rx_wait"]          # wake_up |rx_wait
        assert await labels(14, 43) == ["rx_wait"]          # wake_up rx_|wait
        assert await labels(14, 22) == ["rx_ready"]         # set |rx_ready
        assert await labels(16, 6) == list(ALL_CHECKS)      # check |no_lost_wakeup
        assert await labels(9, 0) == [d.keyword for d in DECLARATIONS]
        inside = await labels(14, 18)                       # handler nic_isr { |set
        assert inside[:3] == ["cli", "sti", "iret"] and inside[-6:] == ["master", "nic", "rx_ready", "rx_wait", "nic_isr", "app"]

        symbols = await client.text_document_document_symbol_async(t.DocumentSymbolParams(text_document=doc(uri)))
        assert symbols is not None
        assert [(s.name, s.detail, s.kind, s.range, s.selection_range) for s in symbols
                if isinstance(s, t.DocumentSymbol)] == [
            ("master", "pic", t.SymbolKind.Module, rng(9, 0, 32), rng(9, 4, 10)),
            ("nic", "device", t.SymbolKind.Object, rng(10, 0, 41), rng(10, 7, 10)),
            ("rx_ready", "flag", t.SymbolKind.Variable, rng(12, 0, 13), rng(12, 5, 13)),
            ("rx_wait", "waitqueue", t.SymbolKind.Variable, rng(13, 0, 17), rng(13, 10, 17)),
            ("nic_isr", "handler", t.SymbolKind.Function, rng(14, 0, 54), rng(14, 8, 15)),
            ("app", "thread", t.SymbolKind.Function, rng(15, 0, 75), rng(15, 7, 10))]
    drive(scenario)


def test_fixable_lockdep_bug_gives_the_irqsave_repair_as_a_code_action() -> None:
    text = DEADLOCK.read_text()
    uri = uri_of(DEADLOCK)

    async def scenario(client: Client) -> None:
        assert await opened(client, uri, text) == []
        found = await saved(client, uri)
        assert [(d.code, d.range, d.severity, d.message.split(":")[0]) for d in found] == [
            ("no_deadlock", rng(12, 0, 44), ERROR, "no_deadlock violated"),
            ("lockdep", rng(15, 0, 76), ERROR, "lockdep violated")]
        assert found[1].message.startswith(
            "lockdep violated: inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage: rx_lock is taken in hardirq "
            "context at line 15 (handler nic_isr) and with hardirqs enabled at line 16 (thread app)")
        assert [r.message for r in found[1].related_information or []] == [
            "step 1: cpu0 thread app: spin_lock rx_lock <- violation"]
        actions = await client.text_document_code_action_async(t.CodeActionParams(
            text_document=doc(uri), range=rng(15, 0, 0), context=t.CodeActionContext(diagnostics=[])))
        assert actions is not None and list(actions) == [t.CodeAction(
            title="ircheck: thread app: spin_lock rx_lock -> spin_lock_irqsave (and spin_unlock -> "
                  "spin_unlock_irqrestore)",
            kind=t.CodeActionKind.QuickFix, diagnostics=tuple(found), is_preferred=True,
            edit=t.WorkspaceEdit(changes={uri: (t.TextEdit(
                range=rng(15, 0, 0, end_line=16),
                new_text="thread app on cpu0 { spin_lock_irqsave rx_lock; write rx_ring; "
                         "spin_unlock_irqrestore rx_lock }\n"),)}))]
        # not offered away from the violations and the repaired lines
        assert await client.text_document_code_action_async(t.CodeActionParams(
            text_document=doc(uri), range=rng(0, 0, 0), context=t.CodeActionContext(diagnostics=[]))) is None
        # an edit makes the check's results stale: only the front end's (none) are left, and no repair
        assert await changed(client, uri, 2, text + "\n") == []
        assert await client.text_document_code_action_async(t.CodeActionParams(
            text_document=doc(uri), range=rng(15, 0, 0), context=t.CodeActionContext(diagnostics=[]))) is None
    drive(scenario)


def test_warnings_on_save_and_formatting_keeps_comments() -> None:
    text = MASKED.read_text()
    uri = uri_of(MASKED)

    async def scenario(client: Client) -> None:
        messy = text.replace("pic master :", "pic master:").replace("    unmask master.0", "  unmask master.0")
        assert await opened(client, uri, messy) == []
        found = await saved(client, uri)
        assert [(d.code, d.range, d.severity) for d in found] == [
            ("no_starvation", rng(13, 6, 46), ERROR), ("unreached", rng(17, 0, 39), WARNING)]
        assert found[1].message == "handler nic_isr can never run"
        edits = await client.text_document_formatting_async(t.DocumentFormattingParams(
            text_document=doc(uri), options=t.FormattingOptions(tab_size=4, insert_spaces=True)))
        assert edits is not None and list(edits) == [t.TextEdit(range=rng(9, 0, 0, end_line=10), new_text=text.splitlines(keepends=True)[9]),
                         t.TextEdit(range=rng(19, 0, 0, end_line=20), new_text="    unmask master.0\n")]
    drive(scenario)


def test_inconclusive_checks_say_why_at_the_check_line() -> None:
    text = LOST_WAKEUP.read_text()
    report = check_source(text, str(LOST_WAKEUP), engine="explicit", max_states=3)
    assert check_diagnostics(Checked(1, report), "file:///m.irq", text) == [t.Diagnostic(
        range=rng(16, 0, 20), severity=WARNING, code="no_lost_wakeup", source="ircheck",
        message="no_lost_wakeup inconclusive: search stopped (--max-states 3) after 3 states")]


def test_repairs_become_minimal_line_edits() -> None:
    assert text_edits("a\nb", "a\nc") == [t.TextEdit(range=rng(1, 0, 1), new_text="c")]
    assert text_edits("a\nb\n", "a\nb\nc\n") == [t.TextEdit(range=rng(2, 0, 0), new_text="c\n")]
    assert text_edits("é x\n", "é y\n") == [t.TextEdit(range=rng(0, 0, 0, end_line=1), new_text="é y\n")]
    assert format_edits("pic x : i8259 {", "m.irq") is None  # does not parse: no formatting


def test_ranges_count_utf16_code_units() -> None:
    # column 4 of "a𝄞 bad" is the b; 𝄞 is one code point and two UTF-16 code units
    assert item_range(["a𝄞 bad"], 1, 4) == rng(0, 4, 7)
    assert code_points(["a𝄞 bad"], t.Position(line=0, character=4)) == (0, 3)


def test_the_vscode_extension_starts_the_server_with_the_one_grammar() -> None:
    ext = ROOT / "editors" / "vscode"
    pkg = json.loads((ext / "package.json").read_text())
    grammar = json.loads((ROOT / "editors" / "irq.tmLanguage.json").read_text())
    assert pkg["main"] == "./extension.js" and pkg["activationEvents"] == ["onLanguage:irq"]
    assert [(lang["id"], lang["extensions"]) for lang in pkg["contributes"]["languages"]] == [("irq", [".irq"])]
    assert pkg["contributes"]["grammars"] == [{"language": "irq", "scopeName": grammar["scopeName"],
                                               "path": "./syntaxes/irq.tmLanguage.json"}]
    assert pkg["scripts"]["vscode:prepublish"] == "node copy-grammar.js"
    assert '"..", "irq.tmLanguage.json"' in (ext / "copy-grammar.js").read_text()
    assert pkg["contributes"]["configuration"]["properties"]["ircheck.server.command"]["default"] == ["ircheck", "lsp"]
    client = (ext / "extension.js").read_text()
    assert f'command: "{CHECK_COMMAND}"' in client and "TransportKind.stdio" in client


def test_a_newer_edit_stops_a_running_check(tmp_path: Path) -> None:
    big = Path(nested_pic_file(tmp_path)).read_text()  # 2.5 million states: seconds, unless stopped
    asked: list[bool] = []

    def superseded() -> bool:  # the edit comes while the search runs
        asked.append(True)
        return len(asked) > 1

    assert run_check(big, "big.irq", 1, superseded) is None
    # the search asked at its progress reports, stopped at the second, and the repairs never ran
    assert len(asked) == 3


def test_the_check_result_of_an_old_version_is_never_published() -> None:
    text = DEADLOCK.read_text()
    uri = uri_of(DEADLOCK)
    broken = text.replace("spin_lock rx_lock;", "spin_lok rx_lock;", 1)

    async def scenario(client: Client) -> None:
        assert await opened(client, uri, text) == []
        client.text_document_did_save(t.DidSaveTextDocumentParams(text_document=doc(uri)))
        typo = [error(rng(14, 18, 26), "IRQ003",
                      "unexpected 'spin_lok'; expected a statement, ';', '}'\nhint: did you mean 'spin_lock'?")]
        client.text_document_did_change(t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text=broken)]))
        first = await client.inbox.get()
        if first.version == 1:  # the check of version 1 finished before the server read the edit: it was current
            first = await client.inbox.get()
        assert (first.version, list(first.diagnostics)) == (2, typo)
        # the command checks the current version; the saved version's violations never show up after it
        result = await client.workspace_execute_command_async(t.ExecuteCommandParams(
            command=CHECK_COMMAND, arguments=[uri]))
        assert result == {"verdict": "error", "checks": {}, "fixes": []}
        assert await client.published(uri) == typo
        assert client.inbox.empty()
    drive(scenario)


def test_without_the_extra_lsp_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("pygls", "lsprotocol", "ircheck.lsp_server"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    assert main(["lsp"]) == 2
    assert capsys.readouterr().err.startswith(
        "ircheck lsp: the language server needs pygls and lsprotocol: pip install 'ircheck[lsp]'")
