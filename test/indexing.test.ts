import assert from 'node:assert/strict';
import { existsSync, renameSync, rmSync, utimesSync, writeFileSync, mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import sharp from 'sharp';
import { Catalog } from '../sidecar/catalog/catalog';
import { indexRoot } from '../sidecar/pipeline/indexer';
import type { IndexProgress } from '../sidecar/pipeline/progress';
import { SCHEMA_VERSION } from '../sidecar/catalog/migrations';
import type { Analyzer } from '../sidecar/pipeline/analyzer';
import type { DecodedImage } from '../sidecar/decode/decode';
import { readExif } from '../sidecar/decode/exif';
import { pdqAnalyzer } from '../sidecar/analyzers/pdq-analyzer';
import { colourAnalyzer } from '../sidecar/analyzers/colour-analyzer';
import { makeAnimatedGif, makeImage, writeFile } from './fixtures/images';
import { MeanColourAnalyzer } from './helpers/analyzers';
import { SHARED_DATA, tempDir } from './helpers/temp';

async function openFresh(root: string): Promise<Catalog> {
  return Catalog.open(root);
}

async function paths(catalog: Catalog): Promise<string[]> {
  const rows = await catalog.rawQuery(`SELECT rel_path FROM assets ORDER BY rel_path`);
  return rows.map((r) => r.rel_path as string);
}

describe('catalog', () => {
  it('lives in <root>/.loupe, ignores itself in git, and migrates to the current schema', async () => {
    const root = tempDir();
    const catalog = await openFresh(root);
    assert.equal(catalog.dbPath, join(root, '.loupe', 'catalog.duckdb'));
    assert.equal(await catalog.schemaVersion(), SCHEMA_VERSION);
    catalog.close();
    assert.ok(existsSync(join(root, '.loupe', '.gitignore')));
    // Reopening keeps data and does not re-run migrations.
    const again = await openFresh(root);
    assert.equal(await again.schemaVersion(), SCHEMA_VERSION);
    const versions = await again.rawQuery('SELECT count(*) AS n FROM schema_version');
    assert.equal(Number(versions[0].n), SCHEMA_VERSION);
    again.close();
  });

  it('refuses a second writer with a clear message', async () => {
    const root = tempDir();
    const catalog = await openFresh(root);
    try {
      // DuckDB locks per process; a second instance in the same process shares the lock, so use a child.
      const { spawnSync } = await import('node:child_process');
      const script = `require('@duckdb/node-api').DuckDBInstance.create(${JSON.stringify(catalog.dbPath)}).then(()=>console.log('opened'),e=>{console.log('refused: '+e.message.split('\\n')[0]);})`;
      const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: join(__dirname, '..') });
      assert.match(out.stdout, /refused: .*lock/i);
    } finally {
      catalog.close();
    }
  });
});

describe('scanner and index pipeline', () => {
  it('indexes images by content, skips non-images, honours .gitignore and excludes', async () => {
    const root = tempDir();
    writeFile(join(root, 'a.jpg'), await makeImage('jpeg', 64, 48, 1));
    writeFile(join(root, 'nested/deeper/b.png'), await makeImage('png', 32, 32, 2));
    writeFile(join(root, 'photo-without-extension'), await makeImage('webp', 40, 30, 3));
    writeFile(join(root, 'really-a-jpeg.svg'), await makeImage('jpeg', 20, 20, 4));
    writeFile(join(root, 'notes.md'), '# not an image\n');
    writeFile(join(root, 'node_modules/pkg/logo.png'), await makeImage('png', 16, 16, 5));
    writeFile(join(root, 'build/out.png'), await makeImage('png', 16, 16, 6));
    writeFile(join(root, 'drafts/keep.png'), await makeImage('png', 16, 16, 7));
    writeFile(join(root, 'drafts/skip.png'), await makeImage('png', 16, 16, 8));
    writeFile(join(root, '.gitignore'), 'build/\n');
    writeFile(join(root, 'drafts/.gitignore'), 'skip.png\n');
    writeFile(join(root, 'cache/tmp.png'), await makeImage('png', 16, 16, 9));

    const catalog = await openFresh(root);
    const summary = await indexRoot(catalog, { excludes: ['**/node_modules', '**/.git', '**/.loupe', 'cache/**'] });
    assert.deepEqual(await paths(catalog), ['a.jpg', 'drafts/keep.png', 'nested/deeper/b.png', 'photo-without-extension', 'really-a-jpeg.svg']);
    assert.equal(summary.processed, 5);
    assert.equal(summary.failed, 0);
    const disguised = await catalog.getAssetByPath('really-a-jpeg.svg');
    assert.equal(disguised?.format, 'jpeg');
    assert.equal((await catalog.getAssetByPath('photo-without-extension'))?.format, 'webp');
    const a = await catalog.getAssetByPath('a.jpg');
    assert.equal(a?.status, 'ok');
    assert.equal(a?.width, 64);
    assert.equal(a?.height, 48);
    assert.match(a?.contentHash ?? '', /^[0-9a-f]{64}$/);
    // Thumbnails are WebP, long side <= 256, named by content.
    assert.ok(a?.thumb && existsSync(join(catalog.thumbsDir, a.thumb)));
    catalog.close();
  });

  it('re-scans incrementally: unchanged files are not re-read, touched files are not re-analysed, edits are', async () => {
    const root = tempDir();
    for (let i = 0; i < 6; i++) writeFile(join(root, `img${i}.png`), await makeImage('png', 24, 24, i));
    const catalog = await openFresh(root);
    await MeanColourAnalyzer.createTable(catalog);
    const analyzer = new MeanColourAnalyzer();
    await indexRoot(catalog, { analyzers: [analyzer] });
    assert.equal(analyzer.calls.length, 6);

    analyzer.calls = [];
    const second = await indexRoot(catalog, { analyzers: [analyzer] });
    assert.equal(second.scan.unchanged, 6);
    assert.equal(second.processed, 0);
    assert.deepEqual(analyzer.calls, []);

    // Same bytes, new mtime: the hash proves it unchanged.
    utimesSync(join(root, 'img0.png'), new Date(), new Date(Date.now() + 5000));
    // Same size, different bytes: must be re-analysed.
    const other = await makeImage('png', 24, 24, 40);
    writeFile(join(root, 'img1.png'), other);
    const third = await indexRoot(catalog, { analyzers: [analyzer] });
    const img1 = await catalog.getAssetByPath('img1.png');
    assert.equal(third.scan.changed, 1);
    assert.deepEqual(analyzer.calls, ['img1.png']);
    assert.equal(img1?.status, 'ok');

    // A newer analyzer version re-queues everything for that analyzer.
    const v2 = new MeanColourAnalyzer(2);
    const fourth = await indexRoot(catalog, { analyzers: [v2] });
    assert.equal(fourth.processed, 6);
    catalog.close();
  });

  it('keeps analysis across renames and moves, and drops deleted files', async () => {
    const root = tempDir();
    writeFile(join(root, 'one.jpg'), await makeImage('jpeg', 50, 40, 11));
    writeFile(join(root, 'two.jpg'), await makeImage('jpeg', 50, 40, 12));
    writeFile(join(root, 'three.jpg'), await makeImage('jpeg', 50, 40, 13));
    const catalog = await openFresh(root);
    await MeanColourAnalyzer.createTable(catalog);
    const analyzer = new MeanColourAnalyzer();
    await indexRoot(catalog, { analyzers: [analyzer] });
    const before = await catalog.getAssetByPath('one.jpg');
    const rowsBefore = await catalog.rawQuery('SELECT r, g, b FROM test_mean_colour WHERE asset_id = $1', [before!.id]);
    assert.equal(rowsBefore.length, 1);

    mkdirSync(join(root, 'archive/2024'), { recursive: true });
    renameSync(join(root, 'one.jpg'), join(root, 'archive/2024/renamed.jpg'));
    rmSync(join(root, 'two.jpg'));
    analyzer.calls = [];
    const summary = await indexRoot(catalog, { analyzers: [analyzer] });
    assert.equal(summary.scan.moved, 1);
    assert.equal(summary.scan.removed, 1);
    assert.deepEqual(analyzer.calls, [], 'a moved file is not analysed again');
    const after = await catalog.getAssetByPath('archive/2024/renamed.jpg');
    assert.equal(after?.id, before!.id, 'the asset keeps its identity');
    assert.equal(after?.indexedAt, before!.indexedAt);
    assert.deepEqual(await catalog.rawQuery('SELECT r, g, b FROM test_mean_colour WHERE asset_id = $1', [after!.id]), rowsBefore);
    assert.deepEqual(await paths(catalog), ['archive/2024/renamed.jpg', 'three.jpg']);
    const orphanRows = await catalog.rawQuery('SELECT count(*) AS n FROM test_mean_colour WHERE asset_id NOT IN (SELECT id FROM assets)');
    assert.equal(Number(orphanRows[0].n), 0, 'analysis of deleted files leaves with them');
    catalog.close();
  });

  it('deletes a thumbnail only when no remaining copy uses it', async () => {
    const root = tempDir();
    const bytes = await makeImage('png', 30, 30, 21);
    writeFile(join(root, 'a.png'), bytes);
    writeFile(join(root, 'copy/a.png'), bytes);
    const catalog = await openFresh(root);
    await indexRoot(catalog);
    const a = await catalog.getAssetByPath('a.png');
    const thumb = join(catalog.thumbsDir, a!.thumb!);
    rmSync(join(root, 'a.png'));
    writeFile(join(root, 'unrelated.txt'), 'x'); // keeps sizes from matching for move detection
    await indexRoot(catalog);
    assert.ok(existsSync(thumb), 'the copy still needs it');
    rmSync(join(root, 'copy/a.png'));
    await indexRoot(catalog);
    assert.ok(!existsSync(thumb));
    catalog.close();
  });

  it('reports progress with counts, rate and ETA, and can be cancelled then resumed', async () => {
    const root = tempDir();
    for (let i = 0; i < 24; i++) writeFile(join(root, `p${String(i).padStart(2, '0')}.jpg`), await makeImage('jpeg', 800, 600, i));
    const catalog = await openFresh(root);
    const controller = new AbortController();
    const events: IndexProgress[] = [];
    const first = await indexRoot(catalog, {
      concurrency: 2,
      signal: controller.signal,
      progressIntervalMs: 0,
      onProgress: (p) => {
        events.push(p);
        if (p.phase === 'index' && p.done >= 5) controller.abort();
      },
    });
    assert.equal(first.cancelled, true);
    const indexed = events.filter((e) => e.phase === 'index');
    assert.ok(indexed.some((e) => e.current !== null && e.total === 24));
    assert.ok(indexed.some((e) => e.rate > 0 && e.etaSeconds !== null));
    const doneRows = await catalog.rawQuery(`SELECT rel_path, CAST(indexed_at AS VARCHAR) AS t FROM assets WHERE status = 'ok'`);
    assert.ok(doneRows.length >= 5 && doneRows.length < 24, `stopped early (${doneRows.length} done)`);

    const second = await indexRoot(catalog, { concurrency: 2 });
    assert.equal(second.processed, 24 - doneRows.length, 'only the rest is processed');
    for (const row of doneRows) {
      const again = await catalog.getAssetByPath(row.rel_path as string);
      assert.equal(again?.indexedAt, row.t, `${row.rel_path} was not redone`);
    }
    assert.equal((await catalog.summary()).ok, 24);
    catalog.close();
  });

  it('decodes once with EXIF rotation, rasterises SVG, takes the first GIF frame and flattens alpha on grey', async () => {
    const root = tempDir();
    copyFileSync(join(SHARED_DATA, 'faces/portraits/portrait.jpg'), join(root, 'upright.jpg'));
    copyFileSync(join(SHARED_DATA, 'faces/portraits/portrait-orientation-6.jpg'), join(root, 'rotated.jpg'));
    copyFileSync(join(SHARED_DATA, 'pdq/data/reg-test-input/exif-rotn/exif-rotn-6.jpg'), join(root, 'phone.jpg'));
    writeFile(join(root, 'vector.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10" fill="#00f"/></svg>');
    writeFile(join(root, 'clear.png'), await makeImage('png', 40, 40, 1, { alpha: true }));
    const frames = await makeAnimatedGif(12, [[255, 0, 0], [0, 255, 0], [0, 0, 255]]);
    writeFile(join(root, 'anim.gif'), frames);

    const seen = new Map<string, { w: number; h: number; px: number[] }>();
    const probe = {
      name: 'probe',
      version: 1,
      analyze: async (img: import('../sidecar/decode/decode').DecodedImage) => {
        seen.set(img.relPath, { w: img.rgbWidth, h: img.rgbHeight, px: [...img.rgb.subarray(0, 3)] });
        return {};
      },
    };
    const catalog = await openFresh(root);
    await indexRoot(catalog, { analyzers: [probe] });
    const upright = await catalog.getAssetByPath('upright.jpg');
    const rotated = await catalog.getAssetByPath('rotated.jpg');
    assert.equal(rotated?.orientation, 6);
    // The orientation-6 copy stores the pixels sideways; after auto-rotation both are portrait.
    assert.equal(rotated?.width, upright?.width);
    assert.equal(rotated?.height, upright?.height);
    assert.ok(Math.max(seen.get('upright.jpg')!.w, seen.get('upright.jpg')!.h) <= 1440);
    const phone = await catalog.getAssetByPath('phone.jpg');
    assert.equal(phone?.cameraMake, 'samsung');
    assert.equal(phone?.takenAt, '2017-11-07T22:14:06');
    assert.ok(Math.abs(phone!.gpsLat! - 38.9779) < 0.001 && Math.abs(phone!.gpsLon! + 77.0232) < 0.001);
    const svg = seen.get('vector.svg')!;
    assert.equal(Math.max(svg.w, svg.h), 1440, 'SVG is rasterised at working size');
    assert.deepEqual(seen.get('vector.svg')!.px, [0, 0, 255]);
    assert.deepEqual(seen.get('clear.png')!.px, [128, 128, 128], 'transparent pixels become neutral grey');
    assert.equal((await catalog.getAssetByPath('anim.gif'))?.status, 'ok');
    assert.deepEqual(seen.get('anim.gif')!.px, [255, 0, 0], 'first frame of the animation');
    assert.equal(seen.get('anim.gif')!.h, 12, 'one frame, not the whole strip');
    catalog.close();
  });
});

describe('turning analyzers on and off', () => {
  /** Wraps an analyzer to count the images it sees. */
  function counted(analyzer: Analyzer): Analyzer & { calls: number } {
    const wrapped = {
      ...analyzer,
      calls: 0,
      analyze: (image: DecodedImage, signal: AbortSignal) => {
        wrapped.calls++;
        return analyzer.analyze(image, signal);
      },
    };
    return wrapped;
  }

  it('runs only the analyzer that was added, keeps the others\' rows, and decodes nothing when one is removed', async () => {
    const root = tempDir();
    for (let i = 0; i < 4; i++) writeFile(join(root, `img-${i}.png`), await makeImage('png', 64 + i * 8, 48));
    const catalog = await openFresh(root);
    try {
      const pdq = counted(pdqAnalyzer);
      const colours = counted(colourAnalyzer);
      await indexRoot(catalog, { analyzers: [pdq] });
      assert.equal(pdq.calls, 4);
      const hashes = await catalog.rawQuery('SELECT asset_id, hash FROM pdq_hashes ORDER BY asset_id');

      // Colours turned on: only colours runs; the hashes are the same rows.
      const second = await indexRoot(catalog, { analyzers: [pdq, colours] });
      assert.equal(second.processed, 4);
      assert.equal(pdq.calls, 4, 'pdq did not run again');
      assert.equal(colours.calls, 4);
      assert.deepEqual(await catalog.rawQuery('SELECT asset_id, hash FROM pdq_hashes ORDER BY asset_id'), hashes);
      assert.ok(Number((await catalog.rawQuery('SELECT count(DISTINCT asset_id) AS n FROM image_colours'))[0].n) === 4);

      // Colours turned off again: versions are updated without decoding or running anything.
      await indexRoot(catalog, { analyzers: [pdq] });
      assert.equal(pdq.calls + colours.calls, 8);
      assert.equal((await indexRoot(catalog, { analyzers: [pdq] })).processed, 0, 'nothing left to do');

      // An analyzer that cannot run alone (owns nothing) redoes the image with every analyzer.
      const legacy = counted({ name: 'legacy', version: 1, analyze: async () => ({}) });
      await indexRoot(catalog, { analyzers: [pdq, legacy] });
      assert.equal(pdq.calls, 8);
      assert.equal(legacy.calls, 4);

      // A changed file is redone with every analyzer.
      writeFile(join(root, 'img-0.png'), await makeImage('png', 200, 100));
      await indexRoot(catalog, { analyzers: [pdq, legacy] });
      assert.equal(pdq.calls, 9);
    } finally {
      catalog.close();
    }
  });
});

describe('changing the thumbnail size', () => {
  it('redoes only the thumbnails, at the new size, and removes the old ones', async () => {
    const root = tempDir();
    writeFile(join(root, 'wide.jpg'), await makeImage('jpeg', 1200, 800));
    writeFile(join(root, 'tall.png'), await makeImage('png', 300, 900));
    const catalog = await openFresh(root);
    try {
      const pdq = { ...pdqAnalyzer, calls: 0 };
      const counting: Analyzer = { ...pdqAnalyzer, analyze: (img, sig) => (pdq.calls++, pdqAnalyzer.analyze(img, sig)) };
      await indexRoot(catalog, { analyzers: [counting] });
      const thumbsOf = async () => (await catalog.rawQuery('SELECT rel_path, thumb FROM assets ORDER BY rel_path')).map((r) => [r.rel_path as string, r.thumb as string]);
      const before = await thumbsOf();
      for (const [, t] of before) assert.equal((await sharp(join(catalog.thumbsDir, t)).metadata()).width! <= 256, true);

      const bigger = await indexRoot(catalog, { analyzers: [counting], limits: { thumbSize: 512 } });
      assert.equal(bigger.processed, 2);
      assert.equal(pdq.calls, 2, 'the analyzers did not run again');
      const after = await thumbsOf();
      for (const [i, [rel, t]] of after.entries()) {
        assert.notEqual(t, before[i][1]);
        const meta = await sharp(join(catalog.thumbsDir, t)).metadata();
        assert.equal(Math.max(meta.width!, meta.height!), 512, `${rel} thumbnail is 512 px on its long side`);
        assert.equal(existsSync(join(catalog.thumbsDir, before[i][1])), false, 'the 256 px thumbnail is gone');
      }
      assert.equal((await indexRoot(catalog, { analyzers: [counting], limits: { thumbSize: 512 } })).processed, 0);
      // Back to the default: 256 px again.
      await indexRoot(catalog, { analyzers: [counting] });
      assert.deepEqual(await thumbsOf(), before);
      assert.equal(pdq.calls, 2);
    } finally {
      catalog.close();
    }
  });
});

describe('memory per image', () => {
  it('reading EXIF keeps nothing per image (the library caches each options object it is given)', async () => {
    // Heap growth after many reads, with garbage collected: a per-call options literal kept ~10 KB each.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const jpeg = readFileSync(join(SHARED_DATA, 'pdq/data/reg-test-input/exif-rotn/exif-rotn-6.jpg'));
    const facts = await readExif(jpeg);
    assert.equal(facts.cameraModel, 'SM-G930V');
    assert.equal(facts.takenAt, '2017-11-07T22:14:06');
    for (let i = 0; i < 200; i++) await readExif(jpeg);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 3000; i++) await readExif(jpeg);
    gc();
    const grownMB = (process.memoryUsage().heapUsed - before) / 1048576;
    assert.ok(grownMB < 5, `heap grew ${grownMB.toFixed(1)} MB over 3,000 EXIF reads`);
  });
});
