/**
 * Loupe inside Markdown/MDX/HTML documents: completion of image links after `![` (the typed alt text
 * is the query), hovers on image links (thumbnail, size, tags, text in the image), and dropping or
 * pasting a gallery image (or an indexed image file or its path) as a relative link with alt text.
 */
import * as vscode from 'vscode';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { AssetByPathRequest, SearchRequest, type AssetDetails } from '../sidecar/protocol';
import { LINK_LANGUAGES, linkFor, type FoundImage } from './image-actions';
import type { Loupe } from './loupe';
import { completionQuery, imageLinkAt, isExternalTarget, pastedFilePaths } from './markdown-links';
import { describeReasons, formatBytes } from './present';

/** The MIME type the gallery puts on dragged images: JSON `FoundImage[]`. */
export const GALLERY_DRAG_MIME = 'application/vnd.loupe.images+json';

const selector: vscode.DocumentSelector = LINK_LANGUAGES.map((language) => ({ language }));
const DATA_MIMES = [GALLERY_DRAG_MIME, 'text/uri-list', 'text/plain'];
const PASTE_KIND = vscode.DocumentDropOrPasteEditKind.Empty.append('markdown', 'link', 'image', 'loupe');

export function registerMarkdownFeatures(context: vscode.ExtensionContext, loupe: Loupe): void {
  context.subscriptions.push(
    vscode.languages.registerCompletionItemProvider(selector, new ImageLinkCompletions(loupe), '['),
    vscode.languages.registerHoverProvider(selector, new ImageLinkHover(loupe)),
    vscode.languages.registerDocumentDropEditProvider(selector, new ImageDrop(loupe), { providedDropEditKinds: [PASTE_KIND], dropMimeTypes: DATA_MIMES }),
    vscode.languages.registerDocumentPasteEditProvider(selector, new ImagePaste(loupe), { providedPasteEditKinds: [PASTE_KIND], pasteMimeTypes: DATA_MIMES }),
  );
}

class ImageLinkCompletions implements vscode.CompletionItemProvider {
  constructor(private readonly loupe: Loupe) {}

  async provideCompletionItems(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken): Promise<vscode.CompletionList | undefined> {
    const prefix = doc.lineAt(pos.line).text.slice(0, pos.character);
    const q = completionQuery(prefix);
    if (!q || this.loupe.state !== 'running') return undefined;
    const res = await this.loupe.request(SearchRequest, { query: q.query, limit: 20 }, token);
    const range = new vscode.Range(pos.line, q.start, pos.line, pos.character);
    const typed = prefix.slice(q.start);
    const items = await Promise.all(
      res.items.map(async (hit, i) => {
        const image: FoundImage = { root: hit.root, id: hit.id, relPath: hit.relPath };
        const item = new vscode.CompletionItem({ label: basename(hit.relPath), description: describeReasons(hit) }, vscode.CompletionItemKind.File);
        item.insertText = await linkFor(this.loupe, image, doc);
        item.range = range;
        // VS Code filters by what was typed in the range; the sidecar already ranked, so match it all.
        item.filterText = typed;
        item.sortText = String(i).padStart(4, '0');
        item.detail = hit.relPath;
        if (hit.thumbnail) item.documentation = new vscode.MarkdownString(`![](${vscode.Uri.file(hit.thumbnail).toString()}|height=128)`);
        return item;
      }),
    );
    return new vscode.CompletionList(items, true);
  }
}

export function hoverMarkdown(details: AssetDetails): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  if (details.thumbnail) md.appendMarkdown(`![${basename(details.relPath)}](${vscode.Uri.file(details.thumbnail).toString()}|height=160)\n\n`);
  const facts = [details.width && details.height ? `${details.width}×${details.height}` : null, details.format?.toUpperCase() ?? null, formatBytes(details.size), details.takenAt ? details.takenAt.slice(0, 10) : null].filter(Boolean);
  md.appendMarkdown(`**${basename(details.relPath)}** · ${facts.join(' · ')}\n\n`);
  // The likely tags only (as the panel's chips): the classifier's long tail would mislead here.
  const tags = details.tags.filter((t) => t.likely).slice(0, 6);
  if (tags.length > 0) md.appendMarkdown(`Tags: ${tags.map((t) => t.name).join(', ')}\n\n`);
  const names = details.faces.map((f) => f.personName).filter((n): n is string => !!n);
  if (names.length > 0) md.appendMarkdown(`People: ${[...new Set(names)].join(', ')}\n\n`);
  const text = details.ocr?.text?.replace(/\s+/g, ' ').trim();
  if (text) {
    md.appendMarkdown('Text: ');
    md.appendText(text.length > 160 ? `${text.slice(0, 160)}…` : text);
    md.appendMarkdown('\n\n');
  }
  if (details.error) md.appendText(`Could not read: ${details.error.message}`);
  return md;
}

class ImageLinkHover implements vscode.HoverProvider {
  constructor(private readonly loupe: Loupe) {}

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    const link = imageLinkAt(doc.lineAt(pos.line).text, pos.character);
    if (!link || isExternalTarget(link.target) || doc.uri.scheme !== 'file' || this.loupe.state !== 'running') return undefined;
    const target = link.target.replace(/^file:\/\//i, '');
    const path = isAbsolute(target) ? target : resolve(dirname(doc.uri.fsPath), target);
    const details = await this.loupe.request(AssetByPathRequest, { path });
    if (!details) return undefined;
    return new vscode.Hover(hoverMarkdown(details), new vscode.Range(pos.line, link.start, pos.line, link.end));
  }
}

/** The indexed images a drop or paste carries (gallery drags, file URIs, pasted absolute paths). */
async function imagesIn(loupe: Loupe, data: vscode.DataTransfer): Promise<FoundImage[]> {
  const fromGallery = data.get(GALLERY_DRAG_MIME);
  if (fromGallery) {
    try {
      return JSON.parse(await fromGallery.asString()) as FoundImage[];
    } catch {
      return [];
    }
  }
  if (loupe.state !== 'running') return [];
  const paths = pastedFilePaths(await data.get('text/uri-list')?.asString(), await data.get('text/plain')?.asString());
  const images: FoundImage[] = [];
  for (const path of paths) {
    if (!loupe.rootOf(path)) continue;
    const asset = await loupe.request(AssetByPathRequest, { path });
    if (asset) images.push({ root: asset.root, id: asset.id, relPath: asset.relPath });
  }
  return images;
}

async function linksFor(loupe: Loupe, data: vscode.DataTransfer, doc: vscode.TextDocument): Promise<string | undefined> {
  const images = await imagesIn(loupe, data);
  if (images.length === 0) return undefined;
  return (await Promise.all(images.map((img) => linkFor(loupe, img, doc)))).join('\n\n');
}

class ImageDrop implements vscode.DocumentDropEditProvider {
  constructor(private readonly loupe: Loupe) {}

  async provideDocumentDropEdits(doc: vscode.TextDocument, _pos: vscode.Position, data: vscode.DataTransfer): Promise<vscode.DocumentDropEdit | undefined> {
    const text = await linksFor(this.loupe, data, doc);
    return text === undefined ? undefined : new vscode.DocumentDropEdit(text, 'Insert image link with alt text (Loupe)', PASTE_KIND);
  }
}

/** Pasting a copied image file or its path inserts the same link a drop would. */
class ImagePaste implements vscode.DocumentPasteEditProvider {
  constructor(private readonly loupe: Loupe) {}

  async provideDocumentPasteEdits(
    doc: vscode.TextDocument,
    _ranges: readonly vscode.Range[],
    data: vscode.DataTransfer,
    _context: vscode.DocumentPasteEditContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.DocumentPasteEdit[] | undefined> {
    const text = await linksFor(this.loupe, data, doc);
    if (text === undefined || token.isCancellationRequested) return undefined;
    return [new vscode.DocumentPasteEdit(text, 'Insert image link with alt text (Loupe)', PASTE_KIND)];
  }
}
