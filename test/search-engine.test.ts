import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Catalog } from '../sidecar/catalog/catalog';
import { indexRoot } from '../sidecar/pipeline/indexer';
import { SearchCursorError } from '../sidecar/search/cursor';
import { SearchEngine } from '../sidecar/search/engine';
import { matchTerm } from '../sidecar/search/filename-match';
import { searchCatalog } from '../sidecar/search/search';
import type { ParsedQuery } from '../sidecar/search/query-parser';
import { TextIndex } from '../sidecar/search/text-index';
import type { FilterProvider, RankedList, SearchableAsset, SearchFilters, SearchResult, SearchSignal } from '../sidecar/search/types';
import { makeImage, writeFile } from './fixtures/images';
import { tempDir } from './helpers/temp';

/** One catalog row, inserted with SQL (no image file behind it). */
interface Seed {
  relPath: string;
  size?: number;
  format?: string | null;
  width?: number | null;
  height?: number | null;
  takenAt?: string | null;
  make?: string | null;
  model?: string | null;
  status?: 'ok' | 'pending' | 'error';
}

async function insert(catalog: Catalog, seeds: Seed[]): Promise<number[]> {
  const ids: number[] = [];
  for (const s of seeds) {
    const rows = await catalog.rawQuery(
      `INSERT INTO assets (rel_path, size, mtime_ms, format, width, height, taken_at, camera_make, camera_model, status, thumb)
       VALUES ($1, $2, 0, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
      [
        s.relPath,
        s.size ?? 1000,
        s.format === undefined ? 'jpeg' : s.format,
        s.width === undefined ? 640 : s.width,
        s.height === undefined ? 480 : s.height,
        s.takenAt ?? null,
        s.make ?? null,
        s.model ?? null,
        s.status ?? 'ok',
        `${s.relPath.replace(/\W/g, '_')}.webp`,
      ],
    );
    ids.push(Number(rows[0].id));
  }
  return ids;
}

async function catalogWith(seeds: Seed[]): Promise<{ catalog: Catalog; ids: number[] }> {
  const catalog = await Catalog.open(tempDir());
  return { catalog, ids: await insert(catalog, seeds) };
}

/** The facts of an asset that only its path matters for. */
const ASSET_DEFAULTS: Omit<SearchableAsset, 'id' | 'relPath'> = {
  size: 1000,
  format: 'jpeg',
  width: 640,
  height: 480,
  takenAt: null,
  cameraMake: null,
  cameraModel: null,
  orientation: null,
  thumb: null,
};

const paths = (r: SearchResult) => r.items.map((h) => h.relPath);
const sorted = (r: SearchResult) => paths(r).sort();

/** Every page of a search, following nextCursor. */
async function allPages(engine: SearchEngine, query: string, limit: number, filters?: SearchFilters): Promise<SearchResult[]> {
  const pages: SearchResult[] = [];
  let cursor: string | null = null;
  do {
    const page: SearchResult = await engine.search({ query, limit, cursor, filters });
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor);
  return pages;
}

/** A small deterministic PRNG (mulberry32), so generated libraries are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('search engine: ranking by file and folder names', () => {
  let catalog: Catalog;
  let engine: SearchEngine;
  before(async () => {
    ({ catalog } = await catalogWith([
      { relPath: 'garden/RedFlower.jpg', takenAt: '2020-01-01T10:00:00' },
      { relPath: 'misc/flowerpot.png', format: 'png' },
      { relPath: 'misc/sunflowers.jpg' },
      { relPath: 'flower-show/entry.jpg' },
      { relPath: 'garden/flowers/tulip.jpg' },
      { relPath: 'misc/red_car.jpg' },
      { relPath: 'misc/Flowers.jpg', takenAt: '2021-01-01T10:00:00' },
    ]));
    engine = await SearchEngine.load(catalog);
  });
  after(() => catalog.close());

  it('exact word (plurals folded) > word prefix > substring > folder, with the reasons', async () => {
    const r = await engine.search('flower');
    assert.equal(r.total, 7 - 1);
    // Exact matches tie (rank 1 in the only signal: score 1), ordered newest first.
    assert.deepEqual(paths(r).slice(0, 2), ['misc/Flowers.jpg', 'garden/RedFlower.jpg']);
    assert.deepEqual(r.items.slice(0, 2).map((h) => h.score), [1, 1]);
    assert.deepEqual(paths(r).slice(2, 4), ['misc/flowerpot.png', 'misc/sunflowers.jpg']);
    assert.deepEqual(paths(r).slice(4).sort(), ['flower-show/entry.jpg', 'garden/flowers/tulip.jpg']);
    assert.ok(r.items[1].score > r.items[2].score && r.items[2].score > r.items[3].score && r.items[3].score > r.items[4].score);
    assert.equal(r.items[4].score, r.items[5].score, 'the two folder matches tie');
    assert.deepEqual(r.items[0].reasons, [{ kind: 'filename', text: '"flower" in file name' }]);
    assert.deepEqual(r.items[5].reasons, [{ kind: 'folder', text: '"flower" in folder' }]);
    assert.ok(r.items.every((h) => h.score > 0 && h.score <= 1));
    assert.deepEqual(paths(await engine.search('flowers')).slice(0, 2), ['misc/Flowers.jpg', 'garden/RedFlower.jpg']);
  });

  it('all words beat some words; phrases, camelCase and typing prefixes', async () => {
    const both = await engine.search('red flower');
    assert.equal(both.items[0].relPath, 'garden/RedFlower.jpg');
    assert.equal(both.items[0].reasons.length, 2);
    assert.ok(both.items[0].score > both.items[1].score);
    assert.deepEqual(paths(await engine.search('"red flower"')), ['garden/RedFlower.jpg']);
    assert.deepEqual(paths(await engine.search('redflower')), ['garden/RedFlower.jpg'], 'substring across a camelCase boundary');
    const typing = await engine.search('flo');
    assert.deepEqual(paths(typing).slice(0, 3).sort(), ['garden/RedFlower.jpg', 'misc/Flowers.jpg', 'misc/flowerpot.png']);
    assert.equal(typing.items[3].relPath, 'misc/sunflowers.jpg');
    const none = await engine.search('zebra');
    assert.deepEqual([none.total, none.items.length, none.nextCursor], [0, 0, null]);
  });

  it('the word index finds exactly what matchTerm finds, in its order, also after many updates', async () => {
    const rnd = random(42);
    const words = ['red', 'flower', 'flowers', 'flowerpot', 'sunflowers', 'sun', 'sunset', 'beach', 'puppy', 'puppies', 'box', 'boxes', 'boxer'];
    words.push('cat', 'catalogue', 'img', 'dsc', 'wood', 'woodland', 'anemone', 'anemones', 'a', '2017', '12');
    const pick = () => words[Math.floor(rnd() * words.length)];
    const name = () => {
      const n = 1 + Math.floor(rnd() * 3);
      const parts = Array.from({ length: n }, pick);
      const style = Math.floor(rnd() * 4);
      if (style === 0) return parts.map((w) => w[0].toUpperCase() + w.slice(1)).join('');
      if (style === 1) return `${parts.join('_')}${Math.floor(rnd() * 3000)}`;
      if (style === 2) return parts.join('-');
      return parts.join(' ').toUpperCase();
    };
    const seen = new Set<string>();
    const randomPath = (): string => {
      for (;;) {
        const depth = Math.floor(rnd() * 3);
        const rel = [...Array.from({ length: depth }, name), `${name()}.${rnd() < 0.5 ? 'jpg' : 'png'}`].join('/');
        if (seen.has(rel.toLowerCase())) continue;
        seen.add(rel.toLowerCase());
        return rel;
      }
    };
    const seeds: Seed[] = Array.from({ length: 300 }, () => ({ relPath: randomPath() }));
    const queries = ['flower', 'flowers', 'puppy', 'puppies', 'fl', 'flo', 'unse', 'nem', 'woodanem', 'img', 'dsc 12', 'red flower', '"red flower"'];
    queries.push('"sun beach"', 'sun beach', 'box', 'boxes', 'a', 'an', 'ppi', 'x', '2', '201', '2017', '12 box', 'zzz', 'redflowers', 'catalogues', 'woodanemones');

    const { catalog: generated, ids } = await catalogWith(seeds);
    const current = new Map(ids.map((id, i) => [id, seeds[i].relPath]));
    const check = async (engine: SearchEngine, label: string) => {
      for (const q of queries) {
        const terms = q.match(/"[^"]*"|\S+/g)!.map((t) => t.replace(/"/g, '').toLowerCase());
        const expected = new Map<string, number>();
        for (const relPath of current.values()) {
          let sum = 0;
          let matched = 0;
          for (const t of terms) {
            const m = matchTerm(t, relPath);
            if (m) {
              matched++;
              sum += m.score;
            }
          }
          if (matched) expected.set(relPath, (sum / terms.length) * (matched === terms.length ? 1 : 0.5));
        }
        const r = await engine.search({ query: q, limit: 1000 });
        assert.equal(r.total, expected.size, `${label}: total for ${q}`);
        assert.deepEqual(sorted(r), [...expected.keys()].sort(), `${label}: matches for ${q}`);
        for (let i = 1; i < r.items.length; i++) {
          const a = expected.get(r.items[i - 1].relPath)!;
          const b = expected.get(r.items[i].relPath)!;
          assert.ok(a >= b - 1e-9, `${label}: order for ${q}: ${r.items[i - 1].relPath} (${a}) before ${r.items[i].relPath} (${b})`);
          assert.equal(a === b, r.items[i - 1].score === r.items[i].score, `${label}: equal matches tie for ${q}`);
        }
      }
    };
    const rebuildMinStale = TextIndex.rebuildMinStale;
    try {
      const engine = await SearchEngine.load(generated);
      await check(engine, 'loaded');
      // Renames, removals and arrivals, in batches; a low threshold makes the trigram lists rebuild too.
      TextIndex.rebuildMinStale = 200;
      let nextId = 1_000_000;
      for (let batch = 0; batch < 6; batch++) {
        const all = [...current.keys()];
        const renamed = all.filter(() => rnd() < 0.1).map((id) => ({ ...ASSET_DEFAULTS, id, relPath: randomPath() }));
        const removed = all.filter(() => rnd() < 0.05);
        const added = Array.from({ length: 15 }, () => ({ ...ASSET_DEFAULTS, id: nextId++, relPath: randomPath() }));
        engine.upsert([...renamed, ...added]);
        engine.remove(removed);
        for (const a of [...renamed, ...added]) current.set(a.id, a.relPath);
        for (const id of removed) current.delete(id);
        await check(engine, `after batch ${batch}`);
      }
      assert.equal(engine.size, current.size);
    } finally {
      TextIndex.rebuildMinStale = rebuildMinStale;
      generated.close();
    }
  });
});

describe('search engine: filters', () => {
  let catalog: Catalog;
  let engine: SearchEngine;
  before(async () => {
    ({ catalog } = await catalogWith([
      { relPath: 'trips/2019/Paris/eiffel.jpg', size: 3_200_000, width: 4000, height: 3000, takenAt: '2019-06-01T10:00:00', make: 'Canon', model: 'Canon EOS 5D' },
      { relPath: 'trips/2019/Paris/louvre-portrait.jpg', size: 2_100_000, width: 3000, height: 4000, takenAt: '2019-06-02T11:00:00', make: 'Apple', model: 'iPhone 12' },
      { relPath: 'trips/2021/rome/colosseum.heic', format: 'heic', size: 1_500_000, width: 4032, height: 3024, takenAt: '2021-09-10T09:00:00', make: 'Apple', model: 'iPhone 12' },
      { relPath: 'design/logo.png', format: 'png', size: 40_000, width: 512, height: 512 },
      { relPath: 'design/banner.svg', format: 'svg', size: 8_000, width: 1200, height: 300 },
      { relPath: 'scans/old_photo.tiff', format: 'tiff', size: 25_000_000, width: 2000, height: 2000, takenAt: '1998-03-04T12:00:00' },
      { relPath: 'top-level.webp', format: 'webp', size: 120_000, width: 800, height: 1200, takenAt: '2022-01-01T00:00:00' },
    ]));
    engine = await SearchEngine.load(catalog);
  });
  after(() => catalog.close());

  const E = 'trips/2019/Paris/eiffel.jpg';
  const L = 'trips/2019/Paris/louvre-portrait.jpg';
  const C = 'trips/2021/rome/colosseum.heic';
  const LOGO = 'design/logo.png';
  const BANNER = 'design/banner.svg';
  const SCAN = 'scans/old_photo.tiff';
  const TOP = 'top-level.webp';

  it('narrows by folder, path, format, camera and capture date', async () => {
    const cases: Array<[string, string[]]> = [
      ['folder:paris', [E, L]],
      ['folder:trips/2019', [E, L]],
      ['folder:2019/paris', [E, L]],
      ['in:trips', [E, L, C]],
      ['folder:design', [BANNER, LOGO]],
      ['folder:top', []],
      ['path:louvre', [L]],
      ['path:2019/paris/e', [E]],
      ['ext:jpg', [E, L]],
      ['format:heif', [C]],
      ['type:tif', [SCAN]],
      ['ext:.PNG', [LOGO]],
      ['camera:iphone', [L, C]],
      ['camera:canon', [E]],
      ['camera:"apple iphone"', [L, C]],
      ['date:2019', [E, L]],
      ['date:2019-06-02', [L]],
      ['date:2019..2021', [E, L, C]],
      ['after:2020', [C, TOP]],
      ['before:2000', [SCAN]],
    ];
    for (const [q, expected] of cases) assert.deepEqual(sorted(await engine.search(q)), [...expected].sort(), q);
  });

  it('narrows by file size, pixel size and orientation', async () => {
    const cases: Array<[string, string[]]> = [
      ['size:>2mb', [E, L, SCAN]],
      ['size:2mb..5mb', [E, L]],
      ['larger:1mb', [E, L, C, SCAN]],
      ['smaller:100kb', [BANNER, LOGO]],
      ['size:<=40kb', [BANNER, LOGO]],
      ['size:>1.5mib', [E, L, SCAN]],
      ['width:>2000', [E, L, C]],
      ['width:2000', [SCAN]],
      ['height:<=512', [BANNER, LOGO]],
      ['width:1000..1300', [BANNER]],
      ['is:portrait', [L, TOP]],
      ['orientation:portrait', [L, TOP]],
      ['is:landscape', [E, C, BANNER]],
      ['is:square', [LOGO, SCAN]],
      ['is:portrait is:square', [L, TOP, LOGO, SCAN]],
      ['paris is:portrait', [L]],
      ['eiffel ext:png', []],
      ['camera:iphone is:landscape after:2020', [C]],
    ];
    for (const [q, expected] of cases) assert.deepEqual(sorted(await engine.search(q)), [...expected].sort(), q);
  });

  it('says which filters each result passed', async () => {
    const kinds = async (q: string) => (await engine.search(q)).items[0].reasons;
    assert.deepEqual(await kinds('folder:paris camera:canon'), [
      { kind: 'folder', text: 'in trips/2019/Paris' },
      { kind: 'camera', text: 'Canon Canon EOS 5D' },
    ]);
    assert.deepEqual(await kinds('date:2019-06-02 ext:jpg'), [
      { kind: 'date', text: 'taken 2019-06-02 11:00:00' },
      { kind: 'format', text: 'jpeg' },
    ]);
    assert.deepEqual(await kinds('size:>20mb width:>1000 is:square path:old'), [
      { kind: 'path', text: 'path contains "old"' },
      { kind: 'size', text: '25 MB' },
      { kind: 'dimensions', text: '2000×2000' },
      { kind: 'orientation', text: 'square' },
    ]);
    const mixed = await engine.search('louvre camera:iphone');
    assert.deepEqual(mixed.items[0].reasons.map((r) => r.kind), ['filename', 'camera']);
  });

  it('without words, results are newest first, undated last, then by path', async () => {
    const r = await engine.search('');
    assert.deepEqual(paths(r), [TOP, C, L, E, SCAN, BANNER, LOGO]);
    assert.ok(r.items.every((h) => h.score === 1));
    const hit = r.items[1];
    assert.equal(hit.format, 'heic');
    assert.deepEqual([hit.width, hit.height, hit.takenAt], [4032, 3024, '2021-09-10T09:00:00']);
    assert.equal(hit.thumbnail, join(catalog.thumbsDir, 'trips_2021_rome_colosseum_heic.webp'));
  });

  it('structured filters from the UI work like the typed ones and combine with them', async () => {
    const same: Array<[SearchFilters, string]> = [
      [{ folder: 'paris' }, 'folder:paris'],
      [{ folder: ['trips', 'paris'] }, 'folder:trips folder:paris'],
      [{ path: 'louvre' }, 'path:louvre'],
      [{ formats: ['jpg', 'tif'] }, 'ext:jpg ext:tif'],
      [{ camera: 'iphone' }, 'camera:iphone'],
      [{ takenFrom: '2019', takenTo: '2019-12' }, 'date:2019'],
      [{ takenFrom: '2019-06-01T10:30' }, 'after:2019-06-02'],
      [{ minSize: 2_000_000 }, 'size:>=2mb'],
      [{ maxWidth: 600 }, 'width:<=600'],
      [{ minHeight: 3000, maxHeight: 3100 }, 'height:3000..3100'],
      [{ orientation: 'square' }, 'is:square'],
      [{ orientation: ['portrait', 'landscape'] }, 'is:portrait is:landscape'],
    ];
    for (const [filters, q] of same) {
      assert.deepEqual(sorted(await engine.search({ query: '', filters })), sorted(await engine.search(q)), JSON.stringify(filters));
    }
    assert.deepEqual(paths(await engine.search({ query: 'folder:trips', filters: { orientation: 'portrait' } })), [L]);
  });

  it('bad filter values are reported and ignored, never a silent empty result', async () => {
    for (const q of ['size:huge', 'width:wide', 'is:round', 'has:cats', 'date:yesterday', 'after:soon']) {
      const r = await engine.search(q);
      assert.equal(r.warnings.length, 1, q);
      assert.equal(r.total, 7, q);
    }
    const bad = await engine.search({ query: '', filters: { takenFrom: 'yesterday', minSize: -1 } });
    assert.equal(bad.warnings.length, 2);
    assert.match(bad.warnings.join('\n'), /takenFrom/);
  });
});

describe('search engine: a real indexed library', () => {
  it('filters on decoded sizes, EXIF camera and date, with thumbnails', async () => {
    const root = tempDir();
    writeFile(
      join(root, 'portraits/tall.jpg'),
      await makeImage('jpeg', 60, 90, 1, { exif: { IFD0: { Make: 'Canon', Model: 'EOS R5' }, IFD2: { DateTimeOriginal: '2020:05:17 08:30:00' } } }),
    );
    writeFile(join(root, 'wide/PanoramaView.png'), await makeImage('png', 120, 40, 2));
    writeFile(join(root, 'square.webp'), await makeImage('webp', 50, 50, 3));
    const catalog = await Catalog.open(root);
    try {
      await indexRoot(catalog, { analyzers: [] });
      const engine = await SearchEngine.load(catalog);
      assert.equal(engine.size, 3);
      assert.deepEqual(paths(await engine.search('is:portrait')), ['portraits/tall.jpg']);
      assert.deepEqual(paths(await engine.search('is:square')), ['square.webp']);
      assert.deepEqual(paths(await engine.search('camera:canon date:2020-05')), ['portraits/tall.jpg']);
      assert.deepEqual(paths(await engine.search('panorama width:>100')), ['wide/PanoramaView.png']);
      const all = await engine.search('');
      assert.equal(all.items[0].relPath, 'portraits/tall.jpg', 'the only dated image comes first');
      assert.deepEqual([all.items[0].width, all.items[0].height, all.items[0].format], [60, 90, 'jpeg']);
      for (const hit of all.items) assert.ok(hit.thumbnail && existsSync(hit.thumbnail), hit.relPath);
    } finally {
      catalog.close();
    }
  });
});

/** A second ranked signal for the tests: words stored per asset in a side table (as a tagger would). */
class KeywordSignal implements SearchSignal {
  readonly name = 'keywords';
  readonly kind = 'tag' as const;
  calls = 0;
  constructor(private readonly catalog: Catalog) {}

  async rank(query: ParsedQuery): Promise<RankedList | null> {
    this.calls++;
    if (query.terms.length === 0) return null;
    const rows = await this.catalog.rawQuery(
      `SELECT asset_id, count(*) AS n, string_agg(word, ', ' ORDER BY word) AS words FROM test_keywords
       WHERE word IN (${query.terms.map((_, i) => `$${i + 1}`).join(', ')}) GROUP BY asset_id ORDER BY n DESC, asset_id`,
      query.terms,
    );
    const words = new Map(rows.map((r) => [Number(r.asset_id), String(r.words)]));
    return {
      ids: rows.map((r) => Number(r.asset_id)),
      scores: rows.map((r) => Number(r.n)),
      explain: (id) => [{ kind: 'tag', text: `keywords: ${words.get(id)}` }],
    };
  }
}

describe('search engine: signals and providers', () => {
  let catalog: Catalog;
  let engine: SearchEngine;
  let ids: Record<string, number>;
  before(async () => {
    const created = await catalogWith([
      { relPath: 'beach/sunset_01.jpg', takenAt: '2020-01-05T00:00:00' },
      { relPath: 'beach/sunset_02.jpg', takenAt: '2020-01-04T00:00:00' },
      { relPath: 'misc/IMG_0001.jpg', takenAt: '2020-01-03T00:00:00' },
      { relPath: 'misc/sunset-sea.jpg', takenAt: '2020-01-02T00:00:00' },
      { relPath: 'misc/IMG_0002.jpg', takenAt: '2020-01-01T00:00:00' },
    ]);
    catalog = created.catalog;
    ids = { a: created.ids[0], b: created.ids[1], c: created.ids[2], d: created.ids[3], e: created.ids[4] };
    await catalog.rawQuery('CREATE TABLE test_keywords (asset_id BIGINT, word VARCHAR)');
    await catalog.rawQuery('CREATE TABLE test_ocr (asset_id BIGINT, text VARCHAR)');
    await catalog.rawQuery(
      `INSERT INTO test_keywords VALUES (${ids.a}, 'sea'), (${ids.c}, 'sunset'), (${ids.c}, 'sea'), (${ids.d}, 'sunset'), (${ids.e}, 'sunset')`,
    );
    await catalog.rawQuery(`INSERT INTO test_ocr VALUES (${ids.b}, 'HAPPY NEW YEAR'), (${ids.c}, 'EXIT')`);
    engine = await SearchEngine.load(catalog);
  });
  after(() => catalog.close());

  const order = (r: SearchResult) => r.items.map((h) => Object.keys(ids).find((k) => ids[k] === h.id));

  it('fuses a second signal by reciprocal rank fusion (k = 60), with weights', async () => {
    const keywords = new KeywordSignal(catalog);
    engine.registerSignal(keywords);
    try {
      assert.throws(() => engine.registerSignal(new KeywordSignal(catalog)), /already registered/);
      assert.deepEqual(engine.signalNames(), ['filename', 'keywords']);
      const one = await engine.search('sunset');
      // d is first in both lists (1/61 + 1/61); everything else is first in one of them (1/61).
      assert.deepEqual(order(one), ['d', 'a', 'b', 'c', 'e']);
      assert.deepEqual(one.items.map((h) => h.score), [1, 0.5, 0.5, 0.5, 0.5]);
      assert.deepEqual(one.items[0].reasons, [
        { kind: 'filename', text: '"sunset" in file name' },
        { kind: 'tag', text: 'keywords: sunset' },
      ]);
      assert.deepEqual(one.items[3].reasons, [{ kind: 'tag', text: 'keywords: sunset' }], 'a keyword-only match is found too');

      // filename: d rank 1, a and b rank 2; keywords: c rank 1 (two words), a, d and e rank 2.
      const two = await engine.search('sunset sea');
      assert.deepEqual(order(two), ['d', 'a', 'c', 'b', 'e']);
      const [d, a, c] = two.items.map((h) => h.score);
      const best = 2 / 61;
      assert.ok(Math.abs(d - Math.round(((1 / 61 + 1 / 62) / best) * 1000) / 1000) < 1e-9);
      assert.ok(Math.abs(a - Math.round((2 / 62 / best) * 1000) / 1000) < 1e-9);
      assert.ok(Math.abs(c - Math.round((1 / 61 / best) * 1000) / 1000) < 1e-9);

      engine.unregisterSignal('keywords');
      engine.registerSignal(keywords, { weight: 3 });
      const weighted = await engine.search('sunset');
      assert.deepEqual(order(weighted), ['d', 'c', 'e', 'a', 'b']);
      assert.deepEqual(weighted.items.map((h) => h.score), [1, 0.75, 0.75, 0.25, 0.25]);
      // Filters still apply to what a signal brings in.
      assert.deepEqual(order(await engine.search('sunset folder:misc')), ['d', 'c', 'e']);
      assert.deepEqual(order(await engine.search('ext:jpg')), ['a', 'b', 'c', 'd', 'e'], 'no words: signals stay out');
    } finally {
      engine.unregisterSignal('keywords');
    }
    assert.deepEqual(order(await engine.search('sunset')), ['a', 'b', 'd']);
  });

  it('a slow signal holds up only its own search, and each search gets its own answer', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow: SearchSignal = {
      name: 'slow',
      kind: 'tag',
      rank: async (query) => {
        if (!query.terms.includes('slow')) return null;
        await gate; // a tag catch-up queued behind an index run's writes
        return { ids: [ids.e], scores: [1] };
      },
    };
    engine.registerSignal(slow);
    try {
      const pending = engine.search('sunset slow');
      let settled = false;
      void pending.then(() => (settled = true));
      // Meanwhile other searches are answered (they reuse the file-name signal's buffers).
      assert.deepEqual(order(await engine.search('IMG')), ['c', 'e']);
      assert.deepEqual(order(await engine.search('sea')), ['d']);
      assert.equal(settled, false, 'the slow search is still waiting');
      release();
      const r = await pending;
      // "sunset" in the names of a, b, d; "slow" names nothing; the slow signal adds e.
      assert.deepEqual(new Set(order(r)), new Set(['a', 'b', 'd', 'e']));
      assert.deepEqual(r.items.find((h) => h.id === ids.e)?.reasons, [{ kind: 'tag', text: 'slow' }]);
    } finally {
      engine.unregisterSignal('slow');
    }
  });

  it('has:text, has:faces, person: and tag: warn until a provider answers them', async () => {
    const expectations: Array<[string, RegExp]> = [
      ['has:text', /has:text was ignored: OCR is not indexed yet/],
      ['has:faces', /has:faces was ignored: faces are not indexed yet/],
      ['person:alice', /person:alice was ignored: people are not indexed yet/],
      ['tag:cat', /tag:cat was ignored: tags are not indexed yet/],
    ];
    for (const [q, warning] of expectations) {
      const r = await engine.search(q);
      assert.equal(r.warnings.length, 1, q);
      assert.match(r.warnings[0], warning);
      assert.equal(r.total, 5, `${q}: the filter is ignored, not an empty result`);
    }

    const ocr: FilterProvider = {
      filter: 'text',
      match: async (_value, ctx) => (await ctx.catalog.rawQuery('SELECT asset_id FROM test_ocr')).map((r) => Number(r.asset_id)),
    };
    const tags: FilterProvider = {
      filter: 'tag',
      match: (value) => (value === 'beach' ? [ids.a, ids.b] : []),
    };
    engine.registerFilterProvider(ocr);
    engine.registerFilterProvider(tags);
    try {
      const withText = await engine.search('has:text');
      assert.deepEqual(withText.warnings, []);
      assert.deepEqual(order(withText), ['b', 'c']);
      assert.deepEqual(withText.items[0].reasons, [{ kind: 'text', text: 'has:text' }]);
      assert.deepEqual(order(await engine.search('sunset has:text')), ['b']);
      assert.deepEqual(order(await engine.search({ query: '', filters: { hasText: false } })), ['a', 'd', 'e']);
      assert.deepEqual(order(await engine.search('tag:beach has:text')), ['b']);
      const stillMissing = await engine.search('tag:beach person:bob');
      assert.deepEqual(order(stillMissing), ['a', 'b']);
      assert.deepEqual(stillMissing.warnings, ['person:bob was ignored: people are not indexed yet']);
    } finally {
      engine.unregisterFilterProvider('text');
      engine.unregisterFilterProvider('tag');
    }
  });
});

describe('search engine: keeping up with the catalog', () => {
  it('upsert, rename, a failed re-index and remove show in the next search', async () => {
    const { catalog, ids } = await catalogWith([{ relPath: 'a/one.jpg' }, { relPath: 'a/two.jpg' }]);
    try {
      const engine = await SearchEngine.load(catalog);
      const g0 = engine.generation;
      const [newId] = await insert(catalog, [{ relPath: 'b/zebra crossing.jpg' }]);
      assert.equal((await engine.search('zebra')).total, 0, 'not in memory until told');
      engine.upsert([(await catalog.getAsset(newId))!]);
      assert.deepEqual(paths(await engine.search('zebra')), ['b/zebra crossing.jpg']);
      assert.ok(engine.generation > g0);

      const renamed = { ...(await catalog.getAsset(ids[0]))!, relPath: 'c/giraffe.jpg' };
      engine.upsert([renamed]);
      assert.equal((await engine.search('one')).total, 0);
      assert.deepEqual(paths(await engine.search('giraffe')), ['c/giraffe.jpg']);
      assert.deepEqual(paths(await engine.search('folder:c')), ['c/giraffe.jpg']);
      assert.equal((await engine.search('folder:a')).total, 1);

      const g1 = engine.generation;
      engine.upsert([renamed]);
      assert.equal(engine.generation, g1, 'an unchanged asset is not a change');

      engine.upsert([{ ...renamed, status: 'error' }]);
      assert.equal((await engine.search('giraffe')).total, 0, 'an asset that failed to re-index leaves the results');
      engine.remove([ids[1], 999_999]);
      assert.deepEqual(paths(await engine.search('')), ['b/zebra crossing.jpg']);
      assert.equal(engine.size, 1);
    } finally {
      catalog.close();
    }
  });

  it('refresh() and reload() read the catalog; index runs keep the engine live through onAssetsChanged', async () => {
    const root = tempDir();
    writeFile(join(root, 'first.png'), await makeImage('png', 40, 30, 1));
    writeFile(join(root, 'second.png'), await makeImage('png', 40, 30, 2));
    const catalog = await Catalog.open(root);
    try {
      await indexRoot(catalog, { analyzers: [] });
      const engine = await SearchEngine.load(catalog);
      assert.equal(engine.size, 2);
      const live = async () => {
        const changes: number[] = [];
        await indexRoot(catalog, { analyzers: [], onAssetsChanged: (c) => changes.push(...c.upserted, ...c.removed) });
        await engine.refresh(changes);
      };
      writeFile(join(root, 'sub/third-kitten.png'), await makeImage('png', 30, 40, 3));
      await live();
      assert.deepEqual(paths(await engine.search('kitten')), ['sub/third-kitten.png']);
      assert.deepEqual(paths(await engine.search('kitten is:portrait')), ['sub/third-kitten.png']);
      rmSync(join(root, 'first.png'));
      await live();
      assert.equal((await engine.search('first')).total, 0);
      assert.equal(engine.size, 2);

      // Changes the engine was not told about appear after reload().
      await insert(catalog, [{ relPath: 'manual/okapi.jpg' }, { relPath: 'manual/pending.jpg', status: 'pending' }]);
      assert.equal((await engine.search('okapi')).total, 0);
      await engine.reload();
      assert.deepEqual(paths(await engine.search('okapi')), ['manual/okapi.jpg']);
      assert.equal((await engine.search('pending')).total, 0, 'only indexed assets are searchable');
      assert.equal(engine.size, 3);
    } finally {
      catalog.close();
    }
  });
});

describe('search engine: paging', () => {
  /** 60 assets matching "beach" at five strengths, with dates that interleave. */
  function beachSeeds(): Seed[] {
    const seeds: Seed[] = [];
    const day = (i: number) => (i % 7 === 0 ? null : `2019-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 27) + 1).padStart(2, '0')}T12:00:00`);
    for (let i = 0; i < 12; i++) {
      seeds.push({ relPath: `photos/beach_${i}.jpg`, takenAt: day(i) });
      seeds.push({ relPath: `photos/beaches-${i}.png`, format: 'png', takenAt: day(i + 3) });
      seeds.push({ relPath: `toys/beachball_${i}.jpg`, takenAt: day(i + 5) });
      seeds.push({ relPath: `misc/sunbeach${i}.jpg`, takenAt: day(i + 8) });
      seeds.push({ relPath: `beach/holiday ${i}.jpg`, takenAt: day(i + 11) });
    }
    return seeds;
  }

  /**
   * Pages through `query` while, between pages, new matching assets arrive (at the top of the ranking
   * and elsewhere), one not-yet-shown asset and one already-shown asset are removed.
   */
  async function pageWhileChanging(query: string, newSeeds: (page: number) => Seed[]) {
    const { catalog, ids } = await catalogWith(beachSeeds());
    try {
      const engine = await SearchEngine.load(catalog);
      const full = paths(await engine.search({ query, limit: 1000 }));
      const pathOf = new Map(ids.map((id, i) => [id, beachSeeds()[i].relPath]));
      const shown: string[] = [];
      const removedUnseen = new Set<string>();
      let cursor: string | null = null;
      let page = 0;
      do {
        const r: SearchResult = await engine.search({ query, limit: 7, cursor });
        shown.push(...paths(r));
        cursor = r.nextCursor;
        page++;
        assert.ok(page < 40, 'paging ends');
        if (!cursor) break;
        // New assets, through the catalog and refresh() as the server does.
        const added = await insert(catalog, newSeeds(page));
        await engine.refresh(added);
        // Remove one not yet shown (from the catalog, then refresh) and one already shown.
        const unseen = full.filter((p) => !shown.includes(p) && !removedUnseen.has(p));
        const victim = unseen[Math.floor(unseen.length / 2)];
        if (victim) {
          const id = [...pathOf].find(([, p]) => p === victim)![0];
          await catalog.rawQuery('DELETE FROM assets WHERE id = $1', [id]);
          await engine.refresh([id]);
          removedUnseen.add(victim);
        }
        const seenId = [...pathOf].find(([, p]) => p === shown[shown.length - 1])?.[0];
        if (seenId !== undefined) engine.remove([seenId]);
      } while (cursor);
      assert.ok(page >= 6, `paged ${page} times`);
      const originals = shown.filter((p) => full.includes(p));
      assert.equal(new Set(shown).size, shown.length, 'no asset shown twice');
      assert.deepEqual(
        originals,
        full.filter((p) => !removedUnseen.has(p)),
        'every original asset still there is shown exactly once, in the first page\'s order',
      );
      return { shown, full };
    } finally {
      catalog.close();
    }
  }

  it('a ranked query neither repeats nor skips while assets arrive and leave', async () => {
    const { shown } = await pageWhileChanging('beach', (page) => [
      { relPath: `new/beach ${page}a.jpg`, takenAt: '2030-01-01T00:00:00' },
      { relPath: `new/beachy ${page}b.jpg` },
    ]);
    assert.ok(!shown.some((p) => p.startsWith('new/')), 'assets added after the first page wait for a new search');
  });

  it('a filter-only query neither repeats nor skips while assets arrive and leave', async () => {
    const { shown } = await pageWhileChanging('ext:jpg', (page) => [
      { relPath: `new/newest ${page}.jpg`, takenAt: '2030-01-01T00:00:00' },
      { relPath: `new/undated ${page}.jpg` },
    ]);
    assert.ok(!shown.some((p) => p.startsWith('new/newest')), 'arrivals before the cursor are not shown');
    assert.ok(shown.some((p) => p.startsWith('new/undated')), 'arrivals after the cursor are');
  });

  it('continues the same order without a frozen ranking (new engine, nothing changed), and cursorAfter', async () => {
    const { catalog } = await catalogWith(beachSeeds());
    try {
      const engine = await SearchEngine.load(catalog, { maxSnapshots: 0 });
      for (const q of ['beach', 'beach ext:jpg', 'folder:photos', '']) {
        const full = paths(await engine.search({ query: q, limit: 1000 }));
        const pages = await allPages(engine, q, 4);
        assert.deepEqual(pages.flatMap(paths), full, q);
        assert.ok(pages.every((p) => p.total === full.length));
      }
      const first = await engine.search({ query: 'beach', limit: 10 });
      const other = await SearchEngine.load(catalog);
      const next = await other.search({ query: 'beach', limit: 3, cursor: engine.cursorAfter(first, 3) });
      assert.deepEqual(paths(next), paths(first).slice(4, 7));
      // searchCatalog (one-shot) also takes a position, for callers that page by offset.
      assert.deepEqual(paths(await searchCatalog(catalog, 'beach', { limit: 3, cursor: '4' })), paths(first).slice(4, 7));
      assert.deepEqual(paths(await searchCatalog(catalog, 'beach', { limit: 3, cursor: '999' })), []);
    } finally {
      catalog.close();
    }
  });

  it('rejects malformed cursors and cursors from another query', async () => {
    const { catalog } = await catalogWith(beachSeeds());
    try {
      const engine = await SearchEngine.load(catalog);
      const page = await engine.search({ query: 'beach ext:jpg', limit: 5 });
      assert.ok(page.nextCursor);
      const reordered = await engine.search({ query: 'ext:jpg  beach', limit: 5, cursor: page.nextCursor });
      assert.equal(reordered.items.length, 5, 'the same query spelled in another order is the same query');
      const rejects = async (request: Parameters<SearchEngine['search']>[0], code: string, message: RegExp) => {
        await assert.rejects(engine.search(request), (err: unknown) => {
          assert.ok(err instanceof SearchCursorError);
          assert.equal(err.code, code);
          assert.match(err.message, message);
          return true;
        });
      };
      await rejects({ query: 'sunset', cursor: page.nextCursor }, 'other-query', /different query/);
      await rejects({ query: 'beach ext:jpg', filters: { folder: 'toys' }, cursor: page.nextCursor }, 'other-query', /different query/);
      await rejects({ query: 'beach', cursor: 'not a cursor' }, 'malformed', /start the search again/);
      await rejects({ query: 'beach', cursor: Buffer.from('{"v":2}').toString('base64url') }, 'malformed', /not one this search returned/);
      await rejects({ query: 'beach', cursor: '12' }, 'malformed', /not one this search returned/);
    } finally {
      catalog.close();
    }
  });
});
