/**
 * The command palette: search, insert by description, find similar, find by text, duplicates, people,
 * reindex, status. Panels arrive with the webview issue; until then duplicates and people are
 * worked through with QuickPicks.
 */
import * as vscode from 'vscode';
import { basename } from 'node:path';
import {
  AssetByPathRequest,
  DuplicatesListRequest,
  DuplicatesResolveRequest,
  DuplicatesUndoRequest,
  DuplicatesDismissRequest,
  IndexCancelRequest,
  IndexErrorsRequest,
  IndexRescanRequest,
  PeopleGetRequest,
  PeopleListRequest,
  PeopleNameRequest,
  SearchRequest,
  SimilarRequest,
  type RootedDuplicateGroup,
  type SearchResponse,
} from '../sidecar/protocol';
import { absPathOf, isLinkDocument, type FoundImage } from './image-actions';
import type { Loupe } from './loupe';
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
        search: (q, token) => loupe.request(SearchRequest, { query: q, limit: 50 }, token),
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

  reg('loupe.showDuplicates', () => showDuplicates(loupe));
  reg('loupe.showPeople', () => showPeople(loupe));

}

const CATEGORY_LABEL: Record<string, string> = { exact: 'Exact copies', near: 'Near-duplicates', similar: 'Similar shots' };

async function showDuplicates(loupe: Loupe): Promise<void> {
  const report = await loupe.request(DuplicatesListRequest, {});
  if (report.groups.length === 0) {
    void vscode.window.showInformationMessage(`No duplicates found.${report.notes.length ? ` ${report.notes.join(' ')}` : ''}`);
    return;
  }
  const items = report.groups.map((g) => ({
    label: `$(files) ${basename(g.members.find((m) => m.id === g.keeperId)?.relPath ?? g.members[0].relPath)}`,
    description: `${CATEGORY_LABEL[g.category] ?? g.category} · ${g.members.length} files · ${formatBytes(g.reclaimableBytes)} reclaimable`,
    detail: g.members.map((m) => m.relPath).join('  ·  '),
    group: g,
  }));
  const picked = await vscode.window.showQuickPick(items, { title: `Duplicates: ${formatBytes(report.reclaimableBytes)} reclaimable`, matchOnDetail: true });
  if (picked) await reviewGroup(loupe, picked.group);
}

async function reviewGroup(loupe: Loupe, g: RootedDuplicateGroup): Promise<void> {
  const keeper = g.members.find((m) => m.id === g.keeperId) ?? g.members[0];
  const others = g.members.filter((m) => m !== keeper);
  const actions = [
    { label: `$(trash) Keep ${basename(keeper.relPath)}, move ${others.length} to the trash`, detail: `Suggested keeper: ${g.keeperReason}. Links in documents are updated.`, id: 'resolve' },
    ...g.members.map((m) => ({ label: `$(go-to-file) Open ${m.relPath}`, description: `${formatBytes(m.size)}${m.width ? ` · ${m.width}×${m.height}` : ''}${m.referencedBy.length ? ` · used by ${m.referencedBy.length} document(s)` : ''}`, id: `open:${m.id}` })),
    { label: '$(close) Not Duplicates', detail: 'Never show this group again', id: 'dismiss' },
  ];
  const picked = await vscode.window.showQuickPick(actions, { title: `${CATEGORY_LABEL[g.category] ?? g.category}: ${g.members.length} files` });
  if (!picked) return;
  if (picked.id === 'resolve') {
    const result = await loupe.request(DuplicatesResolveRequest, { root: g.root, groupKey: g.key, keep: [keeper.id] });
    if (result.error) return void vscode.window.showErrorMessage(`Could not resolve: ${result.error}`);
    const choice = await vscode.window.showInformationMessage(`Moved ${result.trashed.length} file(s) to the trash${result.rewritten.length ? ` and updated ${result.rewritten.length} document(s)` : ''}.`, 'Undo');
    if (choice === 'Undo') {
      const undone = await loupe.request(DuplicatesUndoRequest, { root: g.root, id: result.id });
      void vscode.window.showInformationMessage(undone.error ? `Undo failed: ${undone.error}` : `Restored ${result.trashed.length} file(s).`);
    }
  } else if (picked.id === 'dismiss') {
    await loupe.request(DuplicatesDismissRequest, { root: g.root, groupKey: g.key });
  } else {
    const id = Number(picked.id.slice(5));
    const m = g.members.find((x) => x.id === id)!;
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(absPathOf({ root: g.root, id, relPath: m.relPath })));
  }
}

async function showPeople(loupe: Loupe): Promise<void> {
  const { people } = await loupe.request(PeopleListRequest, { includeClusters: true });
  if (people.length === 0) return void vscode.window.showInformationMessage('No people found yet. Loupe groups faces once images with faces are indexed.');
  const picked = await vscode.window.showQuickPick(
    people.map((p) => ({
      label: `$(person) ${p.name ?? 'Unnamed person'}`,
      description: `${p.photoCount} photo(s)${p.suggestedCount ? ` · ${p.suggestedCount} to review` : ''}`,
      p,
    })),
    { title: 'People' },
  );
  if (!picked) return;
  const p = picked.p;
  const details = await loupe.request(PeopleGetRequest, { root: p.root, personId: p.id });
  const rename = { label: p.name ? '$(edit) Rename…' : '$(edit) Name this person…', id: 'name' as const };
  const photos = [...new Map(details.faces.map((f) => [f.assetId, f])).values()].map((f) => ({ label: `$(file-media) ${f.relPath}`, description: f.status, id: 'open' as const, f }));
  const next = await vscode.window.showQuickPick([rename, ...photos], { title: p.name ?? 'Unnamed person', matchOnDescription: true });
  if (!next) return;
  if (next.id === 'name') {
    const name = await vscode.window.showInputBox({ title: 'Name', value: p.name ?? '', prompt: 'Who is this? Loupe uses the name to group more of their photos.' });
    if (name && name.trim()) await loupe.request(PeopleNameRequest, { root: p.root, personId: p.id, name: name.trim() });
  } else if ('f' in next) {
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(absPathOf({ root: p.root, id: next.f.assetId, relPath: next.f.relPath })));
  }
}
