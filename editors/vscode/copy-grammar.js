// The TextMate grammar lives once, in editors/irq.tmLanguage.json (a test keeps it in step with the
// parser's keywords). `npx vsce package` runs this first (vscode:prepublish) to put it in the extension.
const fs = require("fs");
const path = require("path");

fs.mkdirSync(path.join(__dirname, "syntaxes"), { recursive: true });
fs.copyFileSync(path.join(__dirname, "..", "irq.tmLanguage.json"),
                path.join(__dirname, "syntaxes", "irq.tmLanguage.json"));
