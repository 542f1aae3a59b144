/**
 * Loupe inside Markdown/MDX/HTML documents: completion of image links after `![` (the typed alt text
 * is the query), hovers on image links (thumbnail, size, tags, text in the image), and dropping a
 * gallery image (or an indexed image file) into a document as a relative link with alt text.
 */
import * as vscode from 'vscode';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { AssetByPathRequest, SearchRequest, type AssetDetails } from '../sidecar/protocol';
import { LINK_LANGUAGES, linkFor, type FoundImage } from './image-actions';
import type { Loupe } from './loupe';
import { completionQuery, imageLinkAt, isExternalTarget } from './markdown-links';
import { describeReasons, formatBytes } from './present';

/** The MIME type the gallery puts on dragged images: JSON `FoundImage[]`. */
export const GALLERY_DRAG_MIME = 'application/vnd.loupe.images+json';

const selector: vscode.DocumentSelector = LINK_LANGUAGES.map((language) => ({ language }));

export function registerMarkdownFeatures(context: vscode.ExtensionContext, loupe: Loupe): void {
  context.subscriptions.push(
    vscode.languages.registerCompletionItemProvider(selector, new ImageLinkCompletions(loupe), '['),
    vscode.languages.registerHoverProvider(selector, new ImageLinkHover(loupe)),
    vscode.languages.registerDocumentDropEditProvider(selector, new ImageDrop(loupe)),
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
  if (details.tags.length > 0) md.appendMarkdown(`Tags: ${details.tags.slice(0, 6).map((t) => t.name).join(', ')}\n\n`);
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

class ImageDrop implements vscode.DocumentDropEditProvider {
  constructor(private readonly loupe: Loupe) {}

  async provideDocumentDropEdits(doc: vscode.TextDocument, _pos: vscode.Position, data: vscode.DataTransfer): Promise<vscode.DocumentDropEdit | undefined> {
    let images: FoundImage[] = [];
    const fromGallery = data.get(GALLERY_DRAG_MIME);
    if (fromGallery) {
      try {
        images = JSON.parse(await fromGallery.asString()) as FoundImage[];
      } catch {
        images = [];
      }
    } else {
      const uris = (await data.get('text/uri-list')?.asString())?.split(/\r?\n/).filter((l) => l && !l.startsWith('#')) ?? [];
      for (const u of uris) {
        const uri = vscode.Uri.parse(u);
        if (uri.scheme !== 'file' || !this.loupe.rootOf(uri.fsPath) || this.loupe.state !== 'running') continue;
        const asset = await this.loupe.request(AssetByPathRequest, { path: uri.fsPath });
        if (asset) images.push({ root: asset.root, id: asset.id, relPath: asset.relPath });
      }
    }
    if (images.length === 0) return undefined;
    const links = await Promise.all(images.map((img) => linkFor(this.loupe, img, doc)));
    return new vscode.DocumentDropEdit(links.join('\n\n'));
  }
}
