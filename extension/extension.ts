/**
 * Loupe's VS Code entry point: wires the sidecar connection, status bar, commands, gallery view and
 * Markdown features. Activation is lazy (a Loupe command or view, or a workspace with images) and does
 * no indexing work itself: the sidecar starts in the background.
 */
import * as vscode from 'vscode';
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { AssetGetRequest, FilesRestoreRequest, FilesTrashRequest } from '../sidecar/protocol';
import { registerCommands } from './commands';
import { GALLERY_VIEW_ID, GalleryViewProvider } from './gallery-view';
import { absPathOf, copyImagePath, insertImage, linkTargetEditor, openImage, revealImage, type FoundImage } from './image-actions';
import { Loupe } from './loupe';
import { registerMarkdownFeatures } from './markdown-features';
import { LoupeStatusBar } from './status-bar';

let loupe: Loupe | null = null;

/** The gallery's right-click menu passes its `data-vscode-context`. */
interface GalleryContext {
  root?: string;
  id?: number;
  relPath?: string;
}

function fromGalleryContext(arg: unknown): FoundImage | null {
  const c = arg as GalleryContext | undefined;
  return c && typeof c.root === 'string' && typeof c.id === 'number' && typeof c.relPath === 'string' ? { root: c.root, id: c.id, relPath: c.relPath } : null;
}

export async function activate(context: vscode.ExtensionContext): Promise<{ timings: () => Record<string, number | null> }> {
  const t0 = performance.now();
  const output = vscode.window.createOutputChannel('Loupe', { log: true });
  context.subscriptions.push(output);
  const service = new Loupe(context, output);
  loupe = service;
  context.subscriptions.push(service);
  const status = new LoupeStatusBar(service);
  context.subscriptions.push(status);

  const trash = async (image: FoundImage) => {
    const answer = await vscode.window.showWarningMessage(`Move ${basename(image.relPath)} to the trash?`, { modal: true, detail: 'You can restore it with Undo, or from the system trash.' }, 'Move to Trash');
    if (answer !== 'Move to Trash') return;
    try {
      const result = await service.request(FilesTrashRequest, { root: image.root, ids: [image.id] });
      const undo = await vscode.window.showInformationMessage(`Moved ${basename(image.relPath)} to the trash.`, 'Undo');
      if (undo === 'Undo') await service.request(FilesRestoreRequest, { root: image.root, id: result.id });
    } catch (err) {
      void vscode.window.showErrorMessage(`Could not move ${basename(image.relPath)} to the trash: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  registerCommands(context, service);
  registerMarkdownFeatures(context, service);
  const gallery = new GalleryViewProvider(context, service, trash);
  context.subscriptions.push(vscode.window.registerWebviewViewProvider(GALLERY_VIEW_ID, gallery, { webviewOptions: { retainContextWhenHidden: true } }));

  const galleryCommand = (id: string, fn: (image: FoundImage) => unknown) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(id, (arg: unknown) => {
        const image = fromGalleryContext(arg);
        if (image) return fn(image);
      }),
    );
  galleryCommand('loupe.gallery.open', openImage);
  galleryCommand('loupe.gallery.reveal', revealImage);
  galleryCommand('loupe.gallery.copyPath', copyImagePath);
  galleryCommand('loupe.gallery.insert', async (image) => {
    const editor = linkTargetEditor();
    if (!editor) return void vscode.window.showWarningMessage('Open a Markdown or HTML document to insert an image link.');
    await insertImage(service, image, editor);
  });
  galleryCommand('loupe.gallery.findSimilar', (image) => vscode.commands.executeCommand('loupe.findSimilar', vscode.Uri.file(absPathOf(image))));
  galleryCommand('loupe.gallery.showText', async (image) => {
    const details = await service.request(AssetGetRequest, { root: image.root, id: image.id });
    const text = details.ocr?.text?.trim();
    if (!text) return void vscode.window.showInformationMessage(`No text was found in ${basename(image.relPath)}.`);
    const doc = await vscode.workspace.openTextDocument({ content: text, language: 'plaintext' });
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  });
  galleryCommand('loupe.gallery.trash', trash);
  galleryCommand('loupe.gallery.optimise', (image) => vscode.commands.executeCommand('loupe.optimiseImage', vscode.Uri.file(absPathOf(image))));

  void service.start();
  const activationMs = Math.round(performance.now() - t0);
  output.info(`activated in ${activationMs} ms`);

  // End-to-end tests read the timings from this file (no UI involved in measuring them).
  const metricsFile = process.env.LOUPE_METRICS_FILE;
  const timings = () => ({ activationMs, sidecarStartMs: service.timings.startMs, sidecarReadyMs: service.timings.readyMs });
  if (metricsFile) service.onReady(() => writeFileSync(metricsFile, JSON.stringify(timings())));
  return { timings };
}

export async function deactivate(): Promise<void> {
  await loupe?.stop();
  loupe = null;
}
