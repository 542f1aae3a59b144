import * as vscode from 'vscode';

/** Placeholder activation: the sidecar lifecycle and commands arrive with the extension issue. */
export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Loupe', { log: true });
  context.subscriptions.push(output);
  output.info('Loupe activated');
}

export function deactivate(): void {
  // nothing to stop yet
}
