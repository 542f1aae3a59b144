/**
 * The command palette: search, insert by description, find similar, find by text, duplicates, people,
 * reindex, status. Duplicates and people open the Loupe panel.
 */
import * as vscode from 'vscode';
import { basename } from 'node:path';
import {
  AssetByPathRequest,
  IndexCancelRequest,
  IndexErrorsRequest,
  IndexRescanRequest,
  OcrSearchRequest,
  SearchRequest,
  SemanticEnableRequest,
  SemanticStatusRequest,
  SimilarRequest,
  type OcrSearchResult,
  type SearchResponse,
} from '../sidecar/protocol';
import { isLinkDocument, type FoundImage } from './image-actions';
import type { Loupe } from './loupe';
import { LoupePanel } from './panel';
import { optimiseImage } from './optimise';
import { formatBytes } from './present';
import { showImagePicker } from './search-picker';

const SEARCH_PLACEHOLDER = 'Describe an image, or type words in it, a tag, person:name, folder:name, date:2024…';

/** The image a command was run on: an explorer selection, an open image editor, or the active file. */
export function targetImageUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText) return input.uri;
  return undefined;
}

/** OCR hits as picker items: the matching line is the reason shown. */
export function ocrAsSearch(r: OcrSearchResult): SearchResponse {
  return {
    query: r.query,
    total: r.total,
    nextCursor: null,
    warnings: [],
    items: r.items.map((i) => ({
      root: i.root,
      id: i.id,
      relPath: i.relPath,
      score: Math.min(1, i.score / Math.max(1e-9, r.items[0]?.score ?? 1)),
      reasons: i.lines.slice(0, 2).map((l) => ({ kind: 'text' as const, text: `“${l.text}”` })),
      thumbnail: i.thumbnail,
      width: null,
      height: null,
      format: null,
      takenAt: null,
    })),
  };
}

export function registerCommands(context: vscode.ExtensionContext, loupe: Loupe): void {
  const search = (query: string, token?: vscode.CancellationToken): Promise<SearchResponse> => loupe.request(SearchRequest, { query, limit: 50 }, token);
  const recent = () => search('');

  const similar = async (image: FoundImage): Promise<void> => {
    await showImagePicker(
      loupe,
      {
        title: `Similar to ${basename(image.relPath)}`,
        placeholder: 'Images that look like this one',
        search: null,
        initial: () => loupe.request(SimilarRequest, { root: image.root, id: image.id, limit: 50 }),
        accept: 'menu',
      },
      (next) => void similar(next),
    );
  };
  const onSimilar = (image: FoundImage) => void similar(image);

  const reg = (id: string, fn: (...args: unknown[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));

  reg('loupe.search', (query?: unknown) =>
    showImagePicker(loupe, { title: 'Search Images', placeholder: SEARCH_PLACEHOLDER, search, initial: recent, accept: 'menu', value: typeof query === 'string' ? query : '' }, onSimilar),
  );

  reg('loupe.insertImage', async () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor || !isLinkDocument(editor.document)) {
      void vscode.window.showWarningMessage('Insert Image by Description works in Markdown, MDX and HTML documents.');
      return;
    }
    await showImagePicker(loupe, { title: 'Insert Image by Description', placeholder: SEARCH_PLACEHOLDER, search, initial: recent, accept: 'insert' }, onSimilar);
  });

  reg('loupe.findText', () =>
    showImagePicker(
      loupe,
      {
        title: 'Find Images Containing Text',
        placeholder: 'Words in the image (typos are forgiven; "quotes" for a phrase)',
        search: async (q, token) => ocrAsSearch(await loupe.request(OcrSearchRequest, { query: q, limit: 50 }, token)),
        accept: 'menu',
      },
      onSimilar,
    ),
  );

  reg('loupe.findSimilar', async (arg?: unknown) => {
    const uri = targetImageUri(arg);
    if (!uri || uri.scheme !== 'file') {
      void vscode.window.showWarningMessage('Select or open an image in the workspace to find similar ones.');
      return;
    }
    const asset = await loupe.request(AssetByPathRequest, { path: uri.fsPath });
    if (!asset) {
      void vscode.window.showWarningMessage(`${basename(uri.fsPath)} is not indexed (yet). Loupe indexes images inside the workspace folders.`);
      return;
    }
    await similar({ root: asset.root, id: asset.id, relPath: asset.relPath });
  });

  reg('loupe.reindex', async () => {
    const res = await loupe.request(IndexRescanRequest, {});
    vscode.window.setStatusBarMessage(`Loupe: reindexing ${res.started.length} folder(s)`, 3000);
  });

  reg('loupe.enableSemanticSearch', () => enableSemanticSearch(loupe));
  reg('loupe.optimiseImage', (arg?: unknown) => optimiseImage(loupe, targetImageUri(arg)));

  reg('loupe.cancelIndexing', () => loupe.request(IndexCancelRequest, {}));
  reg('loupe.showLog', () => loupe.output.show());

  reg('loupe.showStatus', async () => {
    const items: Array<vscode.QuickPickItem & { run?: () => unknown }> = [];
    try {
      const roots = await loupe.status();
      for (const r of roots) {
        const progress = r.progress ? ` · ${r.progress.done}/${r.progress.total}` : '';
        items.push({ label: `$(folder) ${basename(r.root)}`, description: `${r.state}${progress}`, detail: `${r.images.toLocaleString('en-US')} images · ${r.pending} pending · ${r.errors} unreadable · catalog ${r.catalog}` });
      }
      if (roots.some((r) => r.errors > 0)) items.push({ label: '$(warning) Show Unreadable Files', run: () => vscode.commands.executeCommand('loupe.showErrors') });
      if (roots.some((r) => r.state !== 'idle')) items.push({ label: '$(debug-stop) Cancel Indexing', run: () => vscode.commands.executeCommand('loupe.cancelIndexing') });
      const semantic = await loupe.request(SemanticStatusRequest, {}).catch(() => null);
      if (semantic && !semantic.enabled && loupe.settings.analyzers.clip) {
        items.push({ label: '$(sparkle) Enable Semantic Search…', detail: semantic.note ?? undefined, run: () => vscode.commands.executeCommand('loupe.enableSemanticSearch') });
      }
    } catch (err) {
      items.push({ label: `$(error) ${err instanceof Error ? err.message : String(err)}` });
    }
    items.push({ label: '$(refresh) Reindex', run: () => vscode.commands.executeCommand('loupe.reindex') });
    items.push({ label: '$(output) Show Log', run: () => loupe.output.show() });
    const timing = loupe.timings.readyMs !== null ? `sidecar ready in ${loupe.timings.readyMs} ms` : '';
    const picked = await vscode.window.showQuickPick(items, { title: `Loupe ${timing ? `(${timing})` : ''}`.trim() });
    await picked?.run?.();
  });

  reg('loupe.showErrors', async () => {
    const { failures } = await loupe.request(IndexErrorsRequest, { limit: 500 });
    if (failures.length === 0) return void vscode.window.showInformationMessage('Loupe read every image.');
    const picked = await vscode.window.showQuickPick(
      failures.map((f) => ({ label: f.relPath, description: f.code, detail: f.message, f })),
      { title: `${failures.length} files Loupe could not read`, matchOnDetail: true },
    );
    if (picked) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(`${picked.f.root}/${picked.f.relPath}`));
  });

  reg('loupe.openPanel', () => LoupePanel.show(context, loupe));
  reg('loupe.showDuplicates', () => LoupePanel.show(context, loupe, 'duplicates'));
  reg('loupe.showPeople', () => LoupePanel.show(context, loupe, 'people'));

}

/**
 * "Enable Semantic Search": says what will be downloaded (model, size, quality) and asks first; the
 * download shows progress and can be cancelled; images themselves never leave the machine.
 */
async function enableSemanticSearch(loupe: Loupe): Promise<void> {
  const st = await loupe.request(SemanticStatusRequest, {});
  const images = st.roots.reduce((n, r) => n + r.images, 0);
  const embedded = st.roots.reduce((n, r) => n + r.embedded, 0);
  if (st.enabled && st.downloaded) {
    void vscode.window.showInformationMessage(`Semantic search is on (${st.modelName ?? st.modelId}): ${embedded.toLocaleString('en-US')} of ${images.toLocaleString('en-US')} images described so far.`);
    return;
  }
  const models = st.models.map((m) => ({
    label: m.name,
    description: `${formatBytes(m.bytes)}${m.downloaded ? ' · downloaded' : ''}`,
    detail: `${m.averageRecall !== null ? `average recall ${m.averageRecall}% (Immich's table)` : 'files supplied by hand'}${m.multilingual ? '' : ' · English queries'}${m.id === st.modelId ? ' · recommended' : ''}`,
    picked: m.id === st.modelId,
    id: m.id,
    bytes: m.downloaded ? 0 : m.bytes,
  }));
  models.sort((a, b) => Number(b.picked) - Number(a.picked));
  const choice = models.length > 1 ? await vscode.window.showQuickPick(models, { title: 'Enable Semantic Search: choose a model' }) : models[0];
  if (!choice) return;
  const action = choice.bytes > 0 ? 'Download' : 'Enable';
  const go = await vscode.window.showInformationMessage(
    choice.bytes > 0 ? `Enable semantic search: downloads ${formatBytes(choice.bytes)} (${choice.label}).` : `Enable semantic search with ${choice.label} (already on this machine).`,
    { modal: true, detail: `${choice.bytes > 0 ? 'Only the model is downloaded; your images never leave this machine. ' : ''}Afterwards Loupe describes every image once, in the background.` },
    action,
  );
  if (go !== action) return;
  const token = `loupe-semantic-${Date.now()}`;
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Loupe: downloading ${choice.label}`, cancellable: true },
      async (progress, cancel) => {
        const sub = loupe.progressOn(token, progress);
        try {
          return await loupe.request(SemanticEnableRequest, { model: choice.id, workDoneToken: token }, cancel);
        } finally {
          sub.dispose();
        }
      },
    );
    void vscode.window.showInformationMessage(`Semantic search is on. Loupe is describing ${images.toLocaleString('en-US')} images in the background${result.downloadedBytes ? ` (downloaded ${Math.round(result.downloadedBytes / 1e6)} MB)` : ''}.`);
  } catch (err) {
    void vscode.window.showErrorMessage(`Semantic search was not enabled: ${err instanceof Error ? err.message : String(err)}`);
  }
}
