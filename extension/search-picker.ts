/**
 * The palette's image pickers: a QuickPick that searches as you type (debounced, stale answers
 * dropped), shows thumbnails, match reasons and scores, and offers the image actions. Used by
 * "Search Images", "Insert Image by Description", "Find Images Containing Text" and "Find Similar".
 */
import * as vscode from 'vscode';
import { basename, dirname } from 'node:path';
import type { RootedSearchHit, SearchResponse } from '../sidecar/protocol';
import { copyImagePath, insertImage, linkTargetEditor, openImage, revealImage, type FoundImage } from './image-actions';
import type { Loupe } from './loupe';
import { describeReasons, resultWarnings } from './present';

export interface HitItem extends vscode.QuickPickItem {
  hit: RootedSearchHit;
}

const BUTTONS = {
  reveal: { iconPath: new vscode.ThemeIcon('files'), tooltip: 'Reveal in Explorer' },
  copy: { iconPath: new vscode.ThemeIcon('copy'), tooltip: 'Copy Path' },
  insert: { iconPath: new vscode.ThemeIcon('insert'), tooltip: 'Insert Link into Document' },
  similar: { iconPath: new vscode.ThemeIcon('search'), tooltip: 'Find Similar Images' },
};

export function toItem(hit: RootedSearchHit, withInsert: boolean): HitItem {
  const folder = dirname(hit.relPath);
  const dims = hit.width && hit.height ? `${hit.width}×${hit.height}` : '';
  return {
    label: basename(hit.relPath),
    description: describeReasons(hit),
    detail: [folder === '.' ? '' : folder, dims, hit.format?.toUpperCase() ?? ''].filter(Boolean).join('  ·  '),
    iconPath: hit.thumbnail ? vscode.Uri.file(hit.thumbnail) : new vscode.ThemeIcon('file-media'),
    alwaysShow: true, // the sidecar ranks; the QuickPick must not filter our results by label
    buttons: withInsert ? [BUTTONS.insert, BUTTONS.reveal, BUTTONS.copy, BUTTONS.similar] : [BUTTONS.reveal, BUTTONS.copy, BUTTONS.similar],
    hit,
  };
}

export type PickerAction = 'open' | 'insert' | 'reveal' | 'copy' | 'similar' | 'menu';

export interface PickerOptions {
  title: string;
  placeholder: string;
  /** Runs the query; null for pickers with fixed items (similar images). */
  search: ((query: string, token: vscode.CancellationToken) => Promise<SearchResponse>) | null;
  /** Items for an empty box, or the fixed list. */
  initial?: () => Promise<SearchResponse>;
  /** What Enter does. 'menu' asks which action. */
  accept: PickerAction;
  value?: string;
  debounceMs?: number;
}

/** Shows a picker and performs the chosen action; resolves when it closes. */
export function showImagePicker(loupe: Loupe, options: PickerOptions, onSimilar: (image: FoundImage) => void): Promise<void> {
  const qp = vscode.window.createQuickPick<HitItem>();
  qp.title = options.title;
  qp.placeholder = options.placeholder;
  qp.matchOnDescription = false;
  qp.matchOnDetail = false;
  qp.value = options.value ?? '';
  const target = linkTargetEditor();
  let seq = 0;
  let timer: NodeJS.Timeout | null = null;
  let cts: vscode.CancellationTokenSource | null = null;

  const show = (res: SearchResponse, mySeq: number) => {
    if (mySeq !== seq) return; // a newer query is on its way
    qp.items = res.items.map((h) => toItem(h, !!target));
    const shown = resultWarnings(res.warnings);
    const warn = shown.length > 0 ? ` (${shown.join('; ')})` : '';
    qp.title = res.items.length === 0 && qp.value.trim() !== '' ? `${options.title}: nothing found${warn}` : `${options.title}${res.total > res.items.length ? `: ${res.items.length} of ${res.total}` : ''}${warn}`;
  };
  const run = (query: string) => {
    const mySeq = ++seq;
    cts?.cancel();
    cts = new vscode.CancellationTokenSource();
    qp.busy = true;
    const p = query.trim() === '' || !options.search ? options.initial?.() : options.search(query, cts.token);
    if (!p) {
      qp.items = [];
      qp.busy = false;
      return;
    }
    p.then(
      (res) => show(res, mySeq),
      (err: unknown) => {
        if (mySeq !== seq) return;
        qp.items = [];
        qp.title = `${options.title}: ${err instanceof Error ? err.message : String(err)}`;
      },
    ).finally(() => {
      if (mySeq === seq) qp.busy = false;
    });
  };

  qp.onDidChangeValue((value) => {
    if (!options.search) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => run(value), options.debounceMs ?? 150);
  });

  const perform = async (action: PickerAction, item: HitItem) => {
    const image: FoundImage = { root: item.hit.root, id: item.hit.id, relPath: item.hit.relPath };
    if (action === 'menu') {
      const choices: Array<vscode.QuickPickItem & { action: PickerAction }> = [
        { label: '$(go-to-file) Open', action: 'open' },
        ...(target ? [{ label: '$(insert) Insert Link', description: basename(target.document.fileName), action: 'insert' as const }] : []),
        { label: '$(files) Reveal in Explorer', action: 'reveal' },
        { label: '$(copy) Copy Path', action: 'copy' },
        { label: '$(search) Find Similar Images', action: 'similar' },
      ];
      const picked = await vscode.window.showQuickPick(choices, { title: basename(image.relPath), placeHolder: 'What to do with this image' });
      if (picked) await perform(picked.action, item);
      return;
    }
    switch (action) {
      case 'open':
        return openImage(image);
      case 'insert': {
        const editor = target ?? linkTargetEditor();
        if (!editor) return void vscode.window.showWarningMessage('Open a Markdown or HTML document to insert an image link.');
        await insertImage(loupe, image, editor);
        return;
      }
      case 'reveal':
        return revealImage(image);
      case 'copy':
        return copyImagePath(image);
      case 'similar':
        return onSimilar(image);
    }
  };

  return new Promise<void>((resolve) => {
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0];
      if (!item) return;
      qp.hide();
      void perform(options.accept, item);
    });
    qp.onDidTriggerItemButton((e) => {
      const action: PickerAction = e.button === BUTTONS.insert ? 'insert' : e.button === BUTTONS.reveal ? 'reveal' : e.button === BUTTONS.copy ? 'copy' : 'similar';
      if (action === 'insert' || action === 'similar') qp.hide();
      void perform(action, e.item);
    });
    qp.onDidHide(() => {
      cts?.cancel();
      if (timer) clearTimeout(timer);
      qp.dispose();
      resolve();
    });
    qp.show();
    run(qp.value);
  });
}
