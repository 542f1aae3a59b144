/**
 * What the user can do with a found image, shared by the palette pickers, the gallery and the
 * Markdown features: open, reveal, copy path, insert a link, find similar images.
 */
import * as vscode from 'vscode';
import { basename, join } from 'node:path';
import { AssetGetRequest, type AssetRef } from '../sidecar/protocol';
import type { Loupe } from './loupe';
import { altTextFor, flavourFor, imageLink, relativeImagePath } from './markdown-links';

export const LINK_LANGUAGES = ['markdown', 'mdx', 'html'];

export function isLinkDocument(doc: vscode.TextDocument | undefined): boolean {
  return !!doc && LINK_LANGUAGES.includes(doc.languageId);
}

export interface FoundImage extends AssetRef {
  relPath: string;
}

export function absPathOf(image: FoundImage): string {
  return join(image.root, image.relPath);
}

export async function openImage(image: FoundImage): Promise<void> {
  await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(absPathOf(image)), { preview: true });
}

export async function revealImage(image: FoundImage): Promise<void> {
  await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(absPathOf(image)));
}

export async function copyImagePath(image: FoundImage): Promise<void> {
  await vscode.env.clipboard.writeText(absPathOf(image));
  vscode.window.setStatusBarMessage(`Copied ${basename(image.relPath)}'s path`, 3000);
}

/** The link text for an image as it should appear in `doc` (relative path, alt text from tags/OCR). */
export async function linkFor(loupe: Loupe, image: FoundImage, doc: vscode.TextDocument): Promise<string> {
  let alt: string;
  try {
    const details = await loupe.request(AssetGetRequest, { root: image.root, id: image.id });
    alt = altTextFor({ relPath: image.relPath, tags: details.tags, ocrText: details.ocr?.text });
  } catch {
    alt = altTextFor({ relPath: image.relPath });
  }
  // An unsaved document has no folder yet: link relative to the image's root folder.
  const docPath = doc.isUntitled ? join(image.root, 'untitled.md') : doc.uri.fsPath;
  return imageLink(flavourFor(doc.languageId), alt, relativeImagePath(docPath, absPathOf(image)));
}

/** Inserts a link to the image at the cursor (replacing `replace` when given). */
export async function insertImage(loupe: Loupe, image: FoundImage, editor: vscode.TextEditor, replace?: vscode.Range): Promise<boolean> {
  const link = await linkFor(loupe, image, editor.document);
  const ok = await editor.edit((b) => {
    if (replace) b.replace(replace, link);
    else for (const sel of editor.selections) b.replace(sel, link);
  });
  if (ok) await vscode.window.showTextDocument(editor.document, editor.viewColumn);
  return ok;
}

/** The editor to insert into: the active one if it is Markdown/MDX/HTML, else the last such visible one. */
export function linkTargetEditor(): vscode.TextEditor | undefined {
  const active = vscode.window.activeTextEditor;
  if (active && isLinkDocument(active.document)) return active;
  return vscode.window.visibleTextEditors.find((e) => isLinkDocument(e.document));
}
