// The ircheck extension: starts `ircheck lsp` (setting ircheck.server.command) for .irq files and
// adds the command "ircheck: Check this model now" (the server's ircheck.check: the check the server
// otherwise runs on save). Everything else - diagnostics, hover, completion, definitions, references,
// symbols, quick fixes, formatting - comes from the server through vscode-languageclient.
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

async function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("ircheck").get("server.command", ["ircheck", "lsp"]);
  const server = { command, args, transport: TransportKind.stdio };
  client = new LanguageClient("ircheck", "ircheck", { run: server, debug: server }, {
    documentSelector: [{ language: "irq" }],
  });
  context.subscriptions.push(vscode.commands.registerCommand("ircheck.checkModel", async () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.languageId !== "irq") {
      vscode.window.showInformationMessage("ircheck: open a .irq model first");
      return;
    }
    const result = await client.sendRequest("workspace/executeCommand", {
      command: "ircheck.check",
      arguments: [editor.document.uri.toString()],
    });
    if (result) {
      vscode.window.showInformationMessage(`ircheck: ${result.verdict}`);
    }
  }));
  await client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
