import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Catalog } from '../sidecar/catalog/catalog';
import { searchCatalog } from '../sidecar/search/search';
import { parseQuery } from '../sidecar/search/query-parser';
import { makeImage, writeFile } from './fixtures/images';
import { CLI, ensureBuilt, runCli } from './helpers/cli';
import { SHARED_DATA, tempDir } from './helpers/temp';

interface HitJson {
  relPath: string;
  score: number;
  reasons: Array<{ kind: string; text: string }>;
  thumbnail: string | null;
}
interface ResultJson {
  query: string;
  items: HitJson[];
  total: number;
}

/** A small library built from the real shared photos (copied into a temp root at test time). */
function buildLibrary(): string {
  const root = tempDir();
  const copy = (from: string, to: string) => {
    mkdirSync(join(root, to, '..'), { recursive: true });
    copyFileSync(join(SHARED_DATA, from), join(root, to));
  };
  copy('text2image/nature/prairie_falcon.jpg', 'wildlife/birds/prairie_falcon.jpg');
  copy('text2image/nature/wood_anemones.jpg', 'garden/WoodAnemones.jpg');
  copy('text2image/nature/cyclamen_persicum.jpg', 'garden/flowers/cyclamen-persicum.jpg');
  copy('text2image/nature/silver_fir.jpg', 'trees/silver_fir.jpg');
  copy('pdq/data/reg-test-input/exif-rotn/exif-rotn-6.jpg', 'phone/IMG_2017.jpg');
  copy('text2image/openclipart/svg/' + 'animals__birds__acquila_architetto_franc_01.svg', 'clipart/falcon.svg');
  return root;
}

describe('search', () => {
  let root: string;
  before(async () => {
    ensureBuilt();
    root = buildLibrary();
    const r = runCli(['index', root]);
    assert.equal(r.status, 0, r.stderr);
  });

  it('parses filters and free words', () => {
    const q = parseQuery('red "wood anemone" folder:garden ext:JPG camera:canon date:2017-11..2018 before:2019');
    assert.deepEqual(q.terms, ['red', 'wood anemone']);
    assert.deepEqual(q.folders, ['garden']);
    assert.deepEqual(q.formats, ['jpeg']);
    assert.deepEqual(q.cameras, ['canon']);
    assert.equal(q.takenFrom, '2017-11-01T00:00:00');
    assert.equal(q.takenTo, '2018-12-31T23:59:59');
    assert.deepEqual(parseQuery('date:yesterday').errors.length, 1);
  });

  it('finds images by file name words, plurals, camelCase and folders, best match first', async () => {
    const catalog = await Catalog.open(root);
    try {
      const falcon = await searchCatalog(catalog, 'falcon');
      assert.deepEqual(falcon.items.map((h) => h.relPath).sort(), ['clipart/falcon.svg', 'wildlife/birds/prairie_falcon.jpg']);
      assert.ok(falcon.items[0].reasons.some((r) => r.kind === 'filename'));
      const anemones = await searchCatalog(catalog, 'anemone');
      assert.equal(anemones.items[0].relPath, 'garden/WoodAnemones.jpg');
      const phrase = await searchCatalog(catalog, '"wood anemones"');
      assert.equal(phrase.items[0]?.relPath, 'garden/WoodAnemones.jpg');
      const byFolder = await searchCatalog(catalog, 'birds');
      assert.equal(byFolder.items[0].relPath, 'wildlife/birds/prairie_falcon.jpg');
      assert.equal(byFolder.items[0].reasons[0].kind, 'folder');
      // A file-name hit outranks a folder-only hit.
      const flowers = await searchCatalog(catalog, 'flowers');
      assert.equal(flowers.items[0].relPath, 'garden/flowers/cyclamen-persicum.jpg');
      const both = await searchCatalog(catalog, 'falcon prairie');
      assert.equal(both.items[0].relPath, 'wildlife/birds/prairie_falcon.jpg', 'all words beat some words');
      assert.ok(both.items[0].score > both.items[1].score);
      assert.ok(falcon.items[0].thumbnail?.endsWith('.webp'));
      assert.equal((await searchCatalog(catalog, 'zebra')).items.length, 0);
    } finally {
      catalog.close();
    }
  });

  it('filters by folder, format, camera and EXIF date', async () => {
    const catalog = await Catalog.open(root);
    try {
      const paths = async (q: string) => (await searchCatalog(catalog, q)).items.map((h) => h.relPath).sort();
      assert.deepEqual(await paths('folder:garden'), ['garden/WoodAnemones.jpg', 'garden/flowers/cyclamen-persicum.jpg']);
      assert.deepEqual(await paths('folder:garden/flowers'), ['garden/flowers/cyclamen-persicum.jpg']);
      assert.deepEqual(await paths('ext:svg'), ['clipart/falcon.svg']);
      assert.deepEqual(await paths('camera:samsung'), ['phone/IMG_2017.jpg']);
      assert.deepEqual(await paths('date:2017'), ['phone/IMG_2017.jpg']);
      assert.deepEqual(await paths('date:2022-03-31'), ['wildlife/birds/prairie_falcon.jpg']);
      assert.deepEqual(await paths('after:2020 before:2023'), ['wildlife/birds/prairie_falcon.jpg']);
      assert.deepEqual(await paths('falcon ext:jpg'), ['wildlife/birds/prairie_falcon.jpg']);
      const dated = await searchCatalog(catalog, 'date:2017');
      assert.ok(dated.items[0].reasons.some((r) => r.kind === 'date' && r.text.includes('2017-11-07')));
    } finally {
      catalog.close();
    }
  });

  it('pages with a cursor', async () => {
    const catalog = await Catalog.open(root);
    try {
      const first = await searchCatalog(catalog, 'ext:jpg', { limit: 2 });
      assert.equal(first.items.length, 2);
      assert.equal(first.total, 5);
      const second = await searchCatalog(catalog, 'ext:jpg', { limit: 2, cursor: first.nextCursor });
      const third = await searchCatalog(catalog, 'ext:jpg', { limit: 2, cursor: second.nextCursor });
      assert.equal(third.nextCursor, null);
      const all = [...first.items, ...second.items, ...third.items].map((h) => h.relPath);
      assert.equal(new Set(all).size, 5);
    } finally {
      catalog.close();
    }
  });
});

describe('loupe CLI', () => {
  it('index prints a summary; search prints ranked results, JSON, and one JSON line per query', async () => {
    const root = buildLibrary();
    const index = runCli(['index', root]);
    assert.equal(index.status, 0, index.stderr);
    assert.match(index.stdout, /Indexed .*: 6 images, 0 errors/);
    assert.match(index.stdout, /images\/s/);

    const human = runCli(['search', root, 'falcon']);
    assert.equal(human.status, 0);
    assert.match(human.stdout.split('\n')[0], /^1\.000 {2}\S*falcon/);

    const json = runCli(['search', root, 'falcon', '--json', '--limit', '1']);
    const parsed = JSON.parse(json.stdout) as ResultJson;
    assert.equal(parsed.items.length, 1);
    assert.equal(parsed.total, 2);

    const queries = join(root, 'queries.txt');
    writeFileSync(queries, 'falcon\n\nfolder:garden\ncamera:samsung\n');
    const batch = runCli(['search', root, '--queries', queries, '--json']);
    const lines = batch.stdout.trim().split('\n').map((l) => JSON.parse(l) as ResultJson);
    assert.deepEqual(lines.map((l) => l.query), ['falcon', 'folder:garden', 'camera:samsung']);
    assert.deepEqual(lines.map((l) => l.total), [2, 2, 1]);
  });

  it('errors are one clear line with a non-zero exit', () => {
    const missing = runCli(['index', '/definitely/not/here']);
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr.trim(), 'loupe: /definitely/not/here: no such folder');
    const usage = runCli(['search']);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /^loupe: missing <dir>/);
    const unknown = runCli(['frobnicate']);
    assert.equal(unknown.status, 2);
    const badLimit = runCli(['search', '.', 'x', '--limit', 'many']);
    assert.equal(badLimit.status, 2);
  });

  it('doctor checks native modules, the catalog and models', () => {
    const r = runCli(['doctor'], { env: { ...process.env, LOUPE_MODELS_DIR: join(SHARED_DATA, '..', 'models') } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    for (const part of ['sharp', 'onnxruntime-node', 'usearch', 'duckdb catalog', 'model yolox-nano']) {
      assert.match(r.stdout, new RegExp(`^ok +${part}`, 'm'));
    }
  });

  it('a run killed with SIGKILL resumes without redoing finished images', async () => {
    const root = tempDir();
    for (let i = 0; i < 40; i++) writeFile(join(root, `big${String(i).padStart(2, '0')}.jpg`), await makeImage('jpeg', 2400, 1800, i));
    ensureBuilt();
    // Kill the CLI once its progress output says some images are done (a fixed delay is flaky on a busy machine).
    const child = spawn(process.execPath, [CLI, 'index', root, '--concurrency', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 120_000);
      child.stderr!.on('data', (d: Buffer) => {
        const m = /(\d+)\/40 images/.exec(d.toString());
        if (m && Number(m[1]) >= 1) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    const catalog = await Catalog.open(root);
    const done = await catalog.rawQuery(`SELECT rel_path, CAST(indexed_at AS VARCHAR) AS t FROM assets WHERE status = 'ok'`);
    const total = await catalog.rawQuery(`SELECT count(*) AS n FROM assets`);
    catalog.close();
    assert.equal(Number(total[0].n), 40, 'the scan was committed before processing started');
    assert.ok(done.length < 40, `killed before finishing (${done.length} done)`);

    const resumed = runCli(['index', root, '--json']);
    assert.equal(resumed.status, 0, resumed.stderr);
    const summary = JSON.parse(resumed.stdout) as { processed: number; catalog: { images: number } };
    assert.equal(summary.processed, 40 - done.length);
    assert.equal(summary.catalog.images, 40);
    const check = await Catalog.open(root);
    for (const row of done) assert.equal((await check.getAssetByPath(row.rel_path as string))?.indexedAt, row.t);
    check.close();
  });
});
