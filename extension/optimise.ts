/**
 * "Optimise Image...": pick a preset, see the result's size and a side-by-side comparison before
 * anything is written, then save a web-ready copy beside the original or replace it (the original goes
 * to the OS trash and document links follow); Undo puts everything back.
 */
import * as vscode from 'vscode';
import { basename } from 'node:path';
import { AssetByPathRequest, TransformApplyRequest, TransformPreviewRequest, TransformUndoRequest, type TransformOptions } from '../sidecar/protocol';
import type { Loupe } from './loupe';
import { formatBytes } from './present';

export interface OptimisePreset {
  label: string;
  detail: string;
  options: TransformOptions;
}

export const OPTIMISE_PRESETS: readonly OptimisePreset[] = [
  { label: 'Web page (1920 px, WebP)', detail: 'Fits 1920×1920, WebP quality 80, metadata and location removed', options: { maxWidth: 1920, maxHeight: 1920, format: 'webp', quality: 80 } },
  { label: 'README / docs (1280 px, WebP)', detail: 'Fits 1280×1280, WebP quality 80', options: { maxWidth: 1280, maxHeight: 1280, format: 'webp', quality: 80 } },
  { label: 'Thumbnail (640 px, WebP)', detail: 'Fits 640×640, WebP quality 75', options: { maxWidth: 640, maxHeight: 640, format: 'webp', quality: 75 } },
  { label: 'Same size, AVIF', detail: 'Smallest files; supported by current browsers', options: { format: 'avif' } },
  { label: 'Photo as JPEG (1920 px, mozjpeg)', detail: 'For places that need JPEG', options: { maxWidth: 1920, maxHeight: 1920, format: 'jpeg', quality: 80 } },
  { label: 'Screenshot as PNG (palette)', detail: 'Lossless-looking, much smaller for flat colours', options: { format: 'png', palette: true } },
  { label: 'Enhance (auto-level, mild sharpen), same format', detail: 'Fixes flat contrast; size unchanged', options: { enhance: { autoLevel: true, sharpen: 0.3 } } },
];

export async function optimiseImage(loupe: Loupe, uri: vscode.Uri | undefined): Promise<void> {
  if (!uri || uri.scheme !== 'file') {
    void vscode.window.showWarningMessage('Select or open an image in the workspace to optimise it.');
    return;
  }
  const asset = await loupe.request(AssetByPathRequest, { path: uri.fsPath });
  if (!asset) {
    void vscode.window.showWarningMessage(`${basename(uri.fsPath)} is not indexed (yet).`);
    return;
  }
  const preset = await vscode.window.showQuickPick(
    OPTIMISE_PRESETS.map((p) => ({ ...p, description: '' })),
    // ignoreFocusOut: an image preview that finishes loading takes focus, which would otherwise dismiss the pick.
    { title: `Optimise ${basename(asset.relPath)} (${formatBytes(asset.size)}${asset.width ? `, ${asset.width}×${asset.height}` : ''})`, ignoreFocusOut: true },
  );
  if (!preset) return;
  const preview = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Loupe: making a preview…' }, () =>
    loupe.request(TransformPreviewRequest, { root: asset.root, id: asset.id, options: preset.options }),
  );
  const saved = preview.originalBytes - preview.bytes;
  const summary = `${basename(asset.relPath)}: ${formatBytes(preview.originalBytes)} → ${formatBytes(preview.bytes)} (${saved >= 0 ? '−' : '+'}${Math.abs(Math.round((saved / Math.max(1, preview.originalBytes)) * 100))}%), ${asset.width}×${asset.height} → ${preview.width}×${preview.height} ${preview.format.toUpperCase()}`;
  // Before and after side by side, in VS Code's own image viewer.
  const compareTitle = `${basename(asset.relPath)} ↔ optimised (preview)`;
  await vscode.commands.executeCommand('vscode.diff', vscode.Uri.file(asset.absPath), vscode.Uri.file(preview.preview), compareTitle, { preview: true });
  const choice = await vscode.window.showInformationMessage(
    summary,
    { modal: true, detail: `${preview.warnings.length ? `${preview.warnings.join(' ')}\n` : ''}Save a copy beside the original, or replace it (the original goes to the trash and links in documents follow; Undo restores both).` },
    'Save Beside',
    'Replace Original',
  );
  // The comparison has served its purpose; left open it would show a trashed original as blank.
  await closeTabsLabelled(compareTitle);
  if (!choice) return;
  const token = `loupe-optimise-${Date.now()}`;
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Loupe: optimising', cancellable: true }, async (progress, cancel) => {
    const sub = loupe.progressOn(token, progress);
    try {
      return await loupe.request(TransformApplyRequest, { root: asset.root, ids: [asset.id], options: preset.options, mode: choice === 'Replace Original' ? 'replace' : 'beside', workDoneToken: token }, cancel);
    } finally {
      sub.dispose();
    }
  });
  const file = result.files[0];
  if (!file || file.status !== 'done' || result.id === null) {
    void vscode.window.showWarningMessage(`Nothing was written: ${file?.message ?? 'the image could not be optimised'}`);
    return;
  }
  const undo = await vscode.window.showInformationMessage(
    `${choice === 'Replace Original' ? 'Replaced with' : 'Saved'} ${file.output} (${formatBytes(result.bytesSaved)} smaller)${result.rewritten.length ? `; links updated in ${result.rewritten.length} document(s)` : ''}.`,
    'Open',
    'Undo',
  );
  if (undo === 'Open' && file.output) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(`${asset.root}/${file.output}`));
  if (undo === 'Undo') {
    const r = await loupe.request(TransformUndoRequest, { root: asset.root, id: result.id });
    void vscode.window.showInformationMessage(r.error ? `Undo finished with problems: ${r.error}` : 'Undone: everything is as it was.');
  }
}

async function closeTabsLabelled(label: string): Promise<void> {
  const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.label === label);
  if (tabs.length) await vscode.window.tabGroups.close(tabs);
}
