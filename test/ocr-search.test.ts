/**
 * Finding images by the words in them: real images read by the real OCR analyzer into the
 * catalog's inverted index, then BM25 search with typos, prefixes, phrases and accent/case
 * folding; the search planner's OCR signal and has:text; ocr/search and asset/get over the
 * sidecar; `loupe text`.
 */
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Catalog } from '../sidecar/catalog/catalog';
import type { AnalyzerRows } from '../sidecar/catalog/types';
import type { DecodedImage } from '../sidecar/decode/decode';
import { createOcrAnalyzer, ocrRows } from '../sidecar/analyzers/ocr/analyzer';
import { loadOcrEngine } from '../sidecar/analyzers/ocr/load';
import type { Analyzer } from '../sidecar/pipeline/analyzer';
import { indexRoot } from '../sidecar/pipeline/indexer';
import { OcrTextIndex, editDistance, parseOcrQuery } from '../sidecar/ocr/text-search';
import { OcrTextSignal, ocrTextFilter } from '../sidecar/ocr/signal';
import { foldText, tokenize } from '../sidecar/ocr/tokenize';
import { searchOcr } from '../sidecar/ocr/library';
import { SearchEngine } from '../sidecar/search/search';
import { connectToSidecar } from '../sidecar/client/connect';
import * as protocol from '../sidecar/protocol';
import { runCli } from './helpers/cli';
import { startSidecar, waitFor } from './helpers/sidecar';
import { SHARED_DATA, tempDir } from './helpers/temp';

const OCR = join(SHARED_DATA, 'ocr/tesseractjs/images');
const FILES = ['testocr.png', 'bill.png', 'cosmic.png', 'chinese.png', 'simple.png', 'escape_chars.png'];

describe('words of OCR text', () => {
  it('fold accents and case, split Han characters', () => {
    assert.equal(foldText('Café CRÈME Straße'), 'cafe creme strasse');
    assert.deepEqual(tokenize('Invoice No. 4711, e-Transfer'), ['invoice', 'no', '4711', 'e', 'transfer']);
    assert.deepEqual(tokenize('繁體中文 test'), ['繁', '體', '中', '文', 'test']);
    assert.deepEqual(parseOcrQuery('"Quick  brown" Invoce'), [{ words: ['quick', 'brown'], phrase: true }, { words: ['invoce'], phrase: false }]);
    assert.equal(editDistance('invoce', 'invoice', 2), 1);
    assert.equal(editDistance('clearnig', 'clearing', 2), 1); // transposition
    assert.equal(editDistance('invoice', 'balance', 2), 3);
  });
});

describe('text search over real OCR', () => {
  let root: string;
  let catalog: Catalog;
  let index: OcrTextIndex;
  const idOf = new Map<string, number>();
  const top = (query: string): string | undefined => {
    const [hit] = index.search(parseOcrQuery(query));
    return hit ? [...idOf].find(([, id]) => id === hit.assetId)?.[0] : undefined;
  };

  before(async () => {
    root = tempDir();
    for (const f of FILES) copyFileSync(join(OCR, f), join(root, f));
    copyFileSync(join(SHARED_DATA, 'faces/portraits/portrait.jpg'), join(root, 'portrait.jpg'));
    catalog = await Catalog.open(root);
    const ocr = createOcrAnalyzer(await loadOcrEngine({ intraOpThreads: 2 }));
    await indexRoot(catalog, { analyzers: [ocr] });
    for (const r of await catalog.read('SELECT id, rel_path FROM assets')) idOf.set(String(r.rel_path), Number(r.id));
    index = await OcrTextIndex.load(catalog);
  });
  after(() => catalog.close());

  it('stores text, lines with boxes in image pixels, and postings', async () => {
    const [t] = await catalog.read('SELECT text, language, detected FROM ocr_text WHERE asset_id = ?', [idOf.get('cosmic.png')!]);
    assert.equal(String(t.text).toLowerCase(), 'hello world\nfrom beyond\nthe cosmic void');
    assert.equal(t.language, 'en');
    const lines = await catalog.read('SELECT text, box FROM ocr_lines WHERE asset_id = ? ORDER BY line_index', [idOf.get('cosmic.png')!]);
    assert.equal(lines.length, 3);
    for (const l of lines) {
      const box = l.box as number[];
      assert.equal(box.length, 8);
      assert.ok(box.every((v) => v >= 0 && v <= 400));
    }
    const [photo] = await catalog.read('SELECT text, detected, line_count FROM ocr_text WHERE asset_id = ?', [idOf.get('portrait.jpg')!]);
    assert.deepEqual([photo.text, photo.detected, photo.line_count], ['', false, 0]);
    const [p] = await catalog.read(`SELECT tf, positions, lines FROM ocr_postings WHERE asset_id = ? AND term = 'fox'`, [idOf.get('testocr.png')!]);
    assert.equal(p.tf, 4);
  });

  it('finds images by their words, ranked by BM25', () => {
    assert.equal(top('chequing'), 'bill.png');
    assert.equal(top('cosmic void'), 'cosmic.png');
    assert.equal(top('lazy fox'), 'testocr.png');
    assert.equal(top('Tesseract'), 'simple.png');
    assert.equal(top('中文'), 'chinese.png');
    assert.equal(top('zebra'), undefined);
  });

  it('folds case and accents, matches prefixes, tolerates typos', () => {
    assert.equal(top('CHÉQUING'), 'bill.png');
    assert.equal(top('Cosm'), 'cosmic.png'); // prefix while typing
    assert.equal(top('Intera'), 'bill.png');
    assert.equal(top('Cheqing'), 'bill.png'); // deletion
    assert.equal(top('Clearnig'), 'bill.png'); // transposition
    assert.equal(top('Cosmik'), 'cosmic.png'); // substitution
    assert.equal(top('jumpd'), 'testocr.png');
    // Short words need to be exact or prefixes: "fax" is not "fox".
    assert.equal(top('fax'), undefined);
  });

  it('phrase queries need the words in order', () => {
    assert.equal(top('"quick brown dog"'), 'testocr.png');
    assert.equal(top('"Clearing Cheque"'), 'bill.png');
    assert.equal(top('"brown quick dog"'), undefined);
    assert.equal(top('"cosmic world"'), undefined);
    // A phrase tolerates an OCR-style misspelling of one of its words.
    assert.equal(top('"quick browm dog"'), 'testocr.png');
  });

  it('returns the matching lines with their boxes for highlighting', async () => {
    const { items } = await searchOcr(catalog, index, 'cheque 4992');
    assert.equal(items[0].relPath, 'bill.png');
    assert.equal(items[0].matched, 2);
    assert.ok(items[0].lines.some((l) => l.text.includes('4992')), JSON.stringify(items[0].lines));
    assert.ok(items[0].lines.every((l) => l.box.length === 8));
  });

  it('plugs into the search planner as a signal, with has:text', async () => {
    const engine = await SearchEngine.load(catalog);
    engine.registerSignal(new OcrTextSignal(index));
    engine.registerFilterProvider(ocrTextFilter(index));
    const result = await engine.search({ query: 'cosmc' });
    assert.equal(result.items[0].relPath, 'cosmic.png');
    assert.ok(result.items[0].reasons.some((r) => r.kind === 'text'), JSON.stringify(result.items[0].reasons));
    const withText = await engine.search({ query: 'has:text' });
    assert.deepEqual(withText.items.map((h) => h.relPath).sort(), FILES.slice().sort());
  });

  it('follows re-indexing: a removed image leaves the index', async () => {
    rmSync(join(root, 'cosmic.png'));
    await indexRoot(catalog, { analyzers: [createOcrAnalyzer(await loadOcrEngine({ intraOpThreads: 2 }))] });
    index.remove([idOf.get('cosmic.png')!]);
    assert.equal(top('cosmic'), undefined);
    const fresh = await OcrTextIndex.load(catalog);
    assert.equal(fresh.search(parseOcrQuery('cosmic')).length, 0);
    assert.equal(fresh.documents, FILES.length - 1);
  });
});

/** A real analyzer plug-in for the typo test: records given text for each file, as OCR would. */
class GivenTextAnalyzer implements Analyzer {
  readonly name = 'ocr';
  readonly version = 1;
  constructor(private readonly texts: Record<string, string>) {}
  async analyze(image: DecodedImage): Promise<AnalyzerRows> {
    const text = this.texts[image.relPath] ?? '';
    const lines = text.split('\n').filter(Boolean).map((t, i) => ({ text: t, confidence: 0.99, quad: [[0, i * 20], [100, i * 20], [100, i * 20 + 18], [0, i * 20 + 18]] as [[number, number], [number, number], [number, number], [number, number]] }));
    return ocrRows({ text, lines, rotation: 0, detected: true, boxes: lines.length, truncated: false, language: 'en' });
  }
}

describe('text search ranking', () => {
  it('"Invoce" finds the invoice first; more matched words rank higher', async () => {
    const root = tempDir();
    const names = ['a.png', 'b.png', 'c.png', 'd.png'];
    for (const n of names) copyFileSync(join(OCR, 'simple.png'), join(root, n));
    // Same pixels, different recorded text: the catalog keys analysis by path.
    const catalog = await Catalog.open(root);
    try {
      await indexRoot(catalog, {
        analyzers: [new GivenTextAnalyzer({
          'a.png': 'INVOICE\nNo. 4711\nTotal due 120.00 EUR',
          'b.png': 'Receipt\nCafé Müller\nTotal 8.40',
          'c.png': 'Meeting notes\ninvoices to send: two',
          'd.png': 'Slide 3\nQuarterly results',
        })],
      });
      const index = await OcrTextIndex.load(catalog);
      const paths = new Map((await catalog.read('SELECT id, rel_path FROM assets')).map((r) => [Number(r.id), String(r.rel_path)]));
      const ranked = (q: string) => index.search(parseOcrQuery(q)).map((h) => paths.get(h.assetId));
      assert.equal(ranked('Invoce')[0], 'a.png');
      assert.ok(ranked('Invoce').includes('c.png'), 'the plural is found by prefix after the typo');
      const both = ranked('invoice total');
      assert.equal(both[0], 'a.png', 'the image with both words first');
      assert.deepEqual(both.slice(1).sort(), ['b.png', 'c.png']);
      assert.deepEqual(ranked('cafe muller'), ['b.png']);
      assert.deepEqual(ranked('"total due"'), ['a.png']);
      assert.deepEqual(ranked('quartely'), ['d.png']);
    } finally {
      catalog.close();
    }
  });
});

describe('OCR over the sidecar protocol and the CLI', () => {
  it('ocr/search finds images by words with typos and returns the lines to highlight; asset/get has the text', async () => {
    const root = tempDir();
    for (const f of ['testocr.png', 'cosmic.png']) copyFileSync(join(OCR, f), join(root, f));
    const sidecar = await startSidecar([root], ['--no-watch']);
    const c = await connectToSidecar(sidecar.handshake);
    try {
      await waitFor('indexed', async () => {
        const s = await c.connection.sendRequest(protocol.IndexStatusRequest, {});
        return s.roots[0].state === 'idle' && s.roots[0].lastRun !== null && s.roots[0].pending === 0;
      }, 90_000);
      const found = await waitFor('ocr hits', async () => {
        const r = await c.connection.sendRequest(protocol.OcrSearchRequest, { query: 'Cosmc Voi' });
        return r.items.length > 0 ? r : null;
      });
      assert.equal(found.items[0].relPath, 'cosmic.png');
      assert.equal(found.items[0].root, root);
      assert.equal(found.items[0].matched, 2);
      assert.deepEqual(found.items[0].lines.map((l) => l.text), ['the Cosmic Void']);
      assert.equal(found.items[0].lines[0].box.length, 8);
      const phrase = await c.connection.sendRequest(protocol.OcrSearchRequest, { query: '"lazy fox"' });
      assert.deepEqual(phrase.items.map((i) => i.relPath), ['testocr.png']);
      const search = await c.connection.sendRequest(protocol.SearchRequest, { query: 'lazy fox' });
      assert.equal(search.items[0].relPath, 'testocr.png');
      assert.ok(search.items[0].reasons.some((r) => r.kind === 'text'));
      const details = await c.connection.sendRequest(protocol.AssetGetRequest, { root, id: found.items[0].id });
      assert.equal(details.ocr?.text.toLowerCase(), 'hello world\nfrom beyond\nthe cosmic void');
      assert.equal(details.ocr?.lines.length, 3);
      await assert.rejects(c.connection.sendRequest(protocol.OcrSearchRequest, {} as protocol.OcrSearchParams), (e: { code?: number }) => e.code === protocol.LoupeErrorCodes.InvalidParams);
    } finally {
      c.close();
      await sidecar.stop();
    }
  });

  it('loupe text prints each image\'s text, and lines with boxes in JSON', () => {
    const human = runCli(['text', join(OCR, 'cosmic.png')]);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /^== cosmic\.png\nHell[oO] World\nfrom beyond\nthe Cosmic Void\n$/);
    const json = runCli(['text', join(OCR, 'escape_chars.png'), '--json']);
    assert.equal(json.status, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { path: string; text: string; lines: Array<{ text: string; confidence: number; box: number[] }> };
    assert.equal(parsed.text, '"Double Quotes"\nBack\\Slash');
    assert.equal(parsed.lines.length, 2);
    assert.ok(parsed.lines.every((l) => l.box.length === 8 && l.confidence > 0.9));
    const missing = runCli(['text', join(OCR, 'nope.png')]);
    assert.notEqual(missing.status, 0);
  });
});
