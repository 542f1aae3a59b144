/**
 * Image similarity on real photos with the real model and USearch: the per-root vector index
 * (rebuilt from the catalog when its file is missing, damaged or stale; updated incrementally),
 * `similar` ranking, similar shots in the duplicates report, and the `similar` RPC wired to
 * index changes. Photos: UKBench/imagededup, nature, LFW, LabelMe, PDQ test images.
 */
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ResponseError } from 'vscode-jsonrpc';
import { pdqAnalyzer } from '../sidecar/analyzers/pdq-analyzer';
import { MOBILENET_EMBEDDING } from '../sidecar/analyzers/mobilenet/analyzer';
import { Catalog } from '../sidecar/catalog/catalog';
import { connectToSidecar } from '../sidecar/client/connect';
import { findDuplicateGroups } from '../sidecar/duplicates/find-groups';
import type { DuplicateReport } from '../sidecar/duplicates/types';
import type { Analyzer } from '../sidecar/pipeline/analyzer';
import { indexRoot } from '../sidecar/pipeline/indexer';
import { LoupeErrorCodes, SimilarRequest } from '../sidecar/protocol';
import type { Logger } from '../sidecar/server/log';
import { RootService } from '../sidecar/server/root-service';
import { LoupeServer } from '../sidecar/server/server';
import { EmbeddingIndex } from '../sidecar/vectors/embedding-index';
import { closeEmbeddingIndexes, embeddingIndexFor } from '../sidecar/vectors/registry';
import { similarImages } from '../sidecar/vectors/similar';
import { mobileNetAnalyzer } from './helpers/mobilenet';
import { waitFor } from './helpers/sidecar';
import { SHARED_DATA, tempDir } from './helpers/temp';

const MIXED = join(SHARED_DATA, 'near-duplicates/imagededup/mixed_images');
const BASE = join(SHARED_DATA, 'near-duplicates/imagededup/base_images');
const NATURE = join(SHARED_DATA, 'text2image/nature');
const LFW = join(SHARED_DATA, 'faces/lfw10/images');
const LABELME = join(SHARED_DATA, 'pdq/data/reg-test-input/labelme-subset');
const UK120 = ['ukbench00120.jpg', 'ukbench00120_hflip.jpg', 'ukbench00120_resize.jpg', 'ukbench00120_rotation.jpg'];

/** ~70 real photos: the UKBench 00120 family (original, flip, resize, ~30 degree rotated crop), other UKBench objects, nature, 40 LFW portraits, LabelMe scenes. */
function makeLibrary(): string {
  const root = tempDir();
  mkdirSync(join(root, 'ukbench'), { recursive: true });
  for (const f of [...UK120, 'ukbench09268.jpg']) copyFileSync(join(MIXED, f), join(root, 'ukbench', f));
  cpSync(BASE, join(root, 'objects'), { recursive: true }); // holds exact copies of ukbench00120 and 09268
  cpSync(NATURE, join(root, 'nature'), { recursive: true });
  for (const person of readdirSync(LFW)) {
    for (const n of ['0001', '0002', '0003', '0004']) {
      const f = `${person}_${n}.jpg`;
      if (existsSync(join(LFW, person, f))) {
        mkdirSync(join(root, 'people', person), { recursive: true });
        copyFileSync(join(LFW, person, f), join(root, 'people', person, f));
      }
    }
  }
  cpSync(LABELME, join(root, 'scenes'), { recursive: true });
  return root;
}

const quietLogger: Logger = { log: () => undefined };

describe('image similarity (vector index)', () => {
  let root: string;
  let catalog: Catalog;
  let analyzers: Analyzer[];
  let report: DuplicateReport;
  const idOf = async (relPath: string) => (await catalog.getAssetByPath(relPath))!.id;

  before(async () => {
    analyzers = [pdqAnalyzer, await mobileNetAnalyzer()];
    root = makeLibrary();
    catalog = await Catalog.open(root);
    const summary = await indexRoot(catalog, { analyzers });
    assert.equal(summary.failed, 0);
    report = await findDuplicateGroups(catalog);
  });
  after(async () => {
    await closeEmbeddingIndexes(catalog);
    catalog.close();
  });

  it('ranks the near copies of ukbench00120 first, with reasons and thumbnails, never the image itself', async () => {
    const id = await idOf('ukbench/ukbench00120.jpg');
    const res = await similarImages(root, catalog, id, 10);
    const paths = res.items.map((i) => i.relPath);
    assert.ok(!paths.includes('ukbench/ukbench00120.jpg'));
    const family = ['objects/ukbench00120.jpg', 'ukbench/ukbench00120_hflip.jpg', 'ukbench/ukbench00120_resize.jpg', 'ukbench/ukbench00120_rotation.jpg'];
    assert.deepEqual(paths.slice(0, 4).sort(), family.sort(), `family first: ${res.items.map((i) => `${i.relPath} ${i.score}`).join(', ')}`);
    assert.equal(paths[0], 'objects/ukbench00120.jpg', 'the exact copy is the closest');
    assert.ok(res.items[3].score > res.items[4].score + 0.25, 'a clear gap after the family');
    for (let k = 1; k < res.items.length; k++) assert.ok(res.items[k - 1].score >= res.items[k].score);
    const hit = res.items[1];
    assert.equal(hit.root, root);
    assert.ok(hit.score > 0 && hit.score <= 1);
    assert.deepEqual(hit.reasons, [{ kind: 'similar', text: 'looks like ukbench00120.jpg' }]);
    assert.ok(hit.thumbnail && existsSync(hit.thumbnail));
    assert.equal(hit.format, 'jpeg');

    // From the rotated crop too, its family comes first.
    const rot = await similarImages(root, catalog, await idOf('ukbench/ukbench00120_rotation.jpg'), 5);
    assert.deepEqual(rot.items.slice(0, 4).map((i) => i.relPath).sort(), ['objects/ukbench00120.jpg', 'ukbench/ukbench00120.jpg', 'ukbench/ukbench00120_hflip.jpg', 'ukbench/ukbench00120_resize.jpg']);
  });

  it('puts the rotated crop in a similar-shots group with its original, and nothing unrelated', () => {
    const similar = report.groups.filter((g) => g.category === 'similar');
    const rotation = similar.find((g) => g.members.some((m) => m.relPath === 'ukbench/ukbench00120_rotation.jpg'));
    assert.ok(rotation, `a similar group holds the rotated copy; groups: ${JSON.stringify(similar.map((g) => g.members.map((m) => m.relPath)))}`);
    const paths = rotation.members.map((m) => m.relPath).sort();
    // The original's copies are already a near/exact group: the similar group names one of them (the suggested keeper).
    const near = report.groups.find((g) => g.category === 'near' && g.members.some((m) => m.relPath === 'ukbench/ukbench00120_hflip.jpg'))!;
    assert.ok(near, 'the flip and resize are near-duplicates of the original');
    assert.deepEqual(paths, ['ukbench/ukbench00120_rotation.jpg', near.members.find((m) => m.id === near.keeperId)!.relPath].sort());
    assert.ok(rotation.key.startsWith('similar:'));
    // Never mixed with copies: no similar group holds two files of one exact or near group.
    for (const g of similar) {
      for (const copies of report.groups.filter((x) => x.category !== 'similar')) {
        const shared = g.members.filter((m) => copies.members.some((c) => c.id === m.id));
        assert.ok(shared.length <= 1, `${g.key} mixes copies of ${copies.key}`);
      }
      // Unrelated photos (different people, different places, different objects) never group.
      const unrelated = g.members.filter((m) => !m.relPath.includes('ukbench00120'));
      assert.deepEqual(unrelated.map((m) => m.relPath), [], `unrelated photos grouped: ${g.members.map((m) => m.relPath).join(', ')}`);
    }
    assert.ok(!report.notes.some((n) => /not indexed yet/.test(n)), 'the "unavailable" note is gone');
    // Similar shots are not copies: they add nothing to the reclaimable total.
    const copiesBytes = report.groups.filter((g) => g.category !== 'similar').reduce((a, g) => a + g.reclaimableBytes, 0);
    assert.equal(report.reclaimableBytes, copiesBytes);
  });

  it('loads the saved index when it matches the catalog, and rebuilds it when the file is deleted, damaged or stale', async () => {
    const queryId = await idOf('ukbench/ukbench00120.jpg');
    const reference = (await (await embeddingIndexFor(catalog)).similarTo(queryId, 8))!;
    await closeEmbeddingIndexes(catalog);
    const dir = join(catalog.stateDir, 'vectors');
    const file = join(dir, `${MOBILENET_EMBEDDING}.usearch`);
    const meta = join(dir, `${MOBILENET_EMBEDDING}.json`);
    assert.ok(existsSync(file) && existsSync(meta), 'saved under <stateDir>/vectors');
    const saved = JSON.parse(readFileSync(meta, 'utf8')) as { count: number; checksum: string };
    const total = Number((await catalog.rawQuery(`SELECT count(*) AS n FROM image_embeddings WHERE model = $1`, [MOBILENET_EMBEDDING]))[0].n);
    assert.equal(saved.count, total);

    // Same answers (exact copies tie, so their order may differ between graphs).
    const same = async (ix: EmbeddingIndex) => {
      const got = (await ix.similarTo(queryId, 8))!;
      assert.equal(got.length, reference.length);
      for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i].similarity - reference[i].similarity) < 2e-3);
      const ref = new Map(reference.map((n) => [n.id, n.similarity]));
      for (const n of got) if (ref.has(n.id)) assert.ok(Math.abs(n.similarity - ref.get(n.id)!) < 2e-3);
      assert.deepEqual(new Set(got.slice(0, 4).map((n) => n.id)), new Set(reference.slice(0, 4).map((n) => n.id)));
    };
    const open = () => EmbeddingIndex.open(catalog, { model: MOBILENET_EMBEDDING });

    let ix = await open();
    assert.equal(ix.openReport.source, 'file');
    assert.equal(ix.size, total);
    await same(ix);
    await ix.close();

    rmSync(file);
    ix = await open();
    assert.equal(ix.openReport.source, 'catalog');
    assert.match(ix.openReport.reason!, /cannot be read|damaged/);
    await same(ix);
    await ix.close();
    assert.ok(existsSync(file), 'saved again after the rebuild');

    // Corrupt the index file in the middle (same size): the sha256 in the sidecar catches it.
    const bytes = readFileSync(file);
    for (let i = bytes.length >> 1; i < (bytes.length >> 1) + 4096 && i < bytes.length; i++) bytes[i] ^= 0x5a;
    writeFileSync(file, bytes);
    ix = await open();
    assert.equal(ix.openReport.source, 'catalog');
    assert.match(ix.openReport.reason!, /damaged/);
    await same(ix);
    await ix.close();

    // Garbage JSON sidecar, then a truncated index file.
    writeFileSync(meta, '{"format": 1, "model": ');
    ix = await open();
    assert.equal(ix.openReport.source, 'catalog');
    await same(ix);
    await ix.close();
    writeFileSync(file, readFileSync(file).subarray(0, 1000));
    ix = await open();
    assert.equal(ix.openReport.source, 'catalog');
    await same(ix);
    await ix.close();

    // The catalog changed behind the saved file's back (an asset's vectors went away): stale, rebuilt.
    const gone = await idOf('nature/silver_fir.jpg');
    const backup = await catalog.rawQuery('SELECT asset_id, model, vector FROM image_embeddings WHERE asset_id = $1', [gone]);
    await catalog.rawQuery('DELETE FROM image_embeddings WHERE asset_id = $1', [gone]);
    ix = await open();
    assert.equal(ix.openReport.source, 'catalog');
    assert.match(ix.openReport.reason!, /stale/);
    assert.equal(ix.size, total - 1);
    assert.ok(!ix.has(gone));
    // Put it back and let sync() (used by the duplicates report) pick it up incrementally.
    await catalog.rawQuery('INSERT INTO image_embeddings SELECT * FROM (SELECT $1::BIGINT, $2::VARCHAR, $3::FLOAT[])', [
      gone, backup[0].model as string, `[${(backup[0].vector as number[]).join(',')}]`,
    ]);
    assert.equal(await ix.sync(), 1);
    assert.ok(ix.has(gone));
    await ix.close();
    ix = await open();
    assert.equal(ix.openReport.source, 'file', 'sync saved a file that matches the catalog again');
    await ix.close();
  });

  it('applies change events incrementally: removed assets leave, re-analysed ones are re-read', async () => {
    const ix = await embeddingIndexFor(catalog);
    const hflip = await idOf('ukbench/ukbench00120_hflip.jpg');
    const query = await idOf('ukbench/ukbench00120.jpg');
    const before = ix.size;
    await ix.applyChange({ upserted: [], removed: [hflip] });
    assert.equal(ix.size, before - 1);
    assert.ok(!(await ix.similarTo(query, 10))!.some((n) => n.id === hflip));
    await ix.applyChange({ upserted: [hflip], removed: [] });
    assert.equal(ix.size, before);
    assert.ok((await ix.similarTo(query, 4))!.some((n) => n.id === hflip));
    // An upsert whose vector did not change is a no-op; one for an asset without a vector removes it.
    await ix.applyChange({ upserted: [hflip, 987654], removed: [] });
    assert.equal(ix.size, before);
  });
});

describe('similar over RPC', () => {
  let server: LoupeServer;
  let withModel: RootService;
  let without: RootService;
  let lib: string;
  let plain: string;

  before(async () => {
    lib = tempDir();
    mkdirSync(join(lib, 'shots'), { recursive: true });
    for (const f of [...UK120, 'ukbench09268.jpg']) copyFileSync(join(MIXED, f), join(lib, 'shots', f));
    cpSync(NATURE, join(lib, 'nature'), { recursive: true });
    cpSync(LABELME, join(lib, 'scenes'), { recursive: true });
    plain = tempDir();
    copyFileSync(join(NATURE, 'silver_fir.jpg'), join(plain, 'fir.jpg'));
    copyFileSync(join(NATURE, 'wood_anemones.jpg'), join(plain, 'anemones.jpg'));
    const analyzers = [pdqAnalyzer, await mobileNetAnalyzer()];
    withModel = await RootService.open(lib, { analyzers, watch: false, logger: quietLogger });
    without = await RootService.open(plain, { analyzers: [pdqAnalyzer], watch: false, logger: quietLogger });
    server = new LoupeServer({ roots: [withModel, without], logger: quietLogger });
    await server.listen();
    for (const r of [withModel, without]) {
      r.requestRun('test');
      await r.whenIdle();
    }
  });
  after(async () => {
    await server.close();
    await withModel.close();
    await without.close();
  });

  it('answers FeatureUnavailable while a root has no embeddings, and ranked hits once it has', async () => {
    const c = await connectToSidecar(server.handshake());
    try {
      const fir = (await without.catalog.getAssetByPath('fir.jpg'))!;
      await assert.rejects(c.connection.sendRequest(SimilarRequest, { root: plain, id: fir.id }), (err: unknown) => {
        assert.ok(err instanceof ResponseError);
        assert.equal(err.code, LoupeErrorCodes.FeatureUnavailable);
        assert.match(err.message, /embeddings/);
        return true;
      });
      await assert.rejects(c.connection.sendRequest(SimilarRequest, { root: lib, id: 999_999 }), (err: unknown) => err instanceof ResponseError && err.code === LoupeErrorCodes.UnknownAsset);

      const original = (await withModel.catalog.getAssetByPath('shots/ukbench00120.jpg'))!;
      // The index follows the root's change events; wait until they have been applied.
      const res = await waitFor('similar hits', async () => {
        const r = await c.connection.sendRequest(SimilarRequest, { root: lib, id: original.id, limit: 5 }).catch(() => null);
        return r && r.items.length === 5 ? r : null;
      });
      assert.deepEqual(res.items.slice(0, 3).map((i) => i.relPath).sort(), ['shots/ukbench00120_hflip.jpg', 'shots/ukbench00120_resize.jpg', 'shots/ukbench00120_rotation.jpg']);
      assert.ok(res.items.every((i) => i.root === lib && i.id !== original.id && i.reasons[0].kind === 'similar'));
      assert.equal(res.nextCursor, null);

      // A new copy arrives: after the index run, the root's `changed` event puts it in the index.
      copyFileSync(join(MIXED, 'ukbench00120_hflip.jpg'), join(lib, 'shots', 'mirror copy.jpg'));
      withModel.requestRun('new file');
      await withModel.whenIdle();
      const again = await waitFor('the new copy in similar', async () => {
        const r = await c.connection.sendRequest(SimilarRequest, { root: lib, id: original.id, limit: 5 });
        return r.items.some((i) => i.relPath === 'shots/mirror copy.jpg') ? r : null;
      });
      assert.ok(again.items.slice(0, 2).some((i) => i.relPath === 'shots/mirror copy.jpg'));

      // And a deleted file leaves it.
      rmSync(join(lib, 'shots', 'ukbench00120_resize.jpg'));
      withModel.requestRun('file deleted');
      await withModel.whenIdle();
      await waitFor('the deleted file gone from similar', async () => {
        const r = await c.connection.sendRequest(SimilarRequest, { root: lib, id: original.id, limit: 10 });
        return !r.items.some((i) => i.relPath === 'shots/ukbench00120_resize.jpg');
      });
    } finally {
      c.close();
    }
  });
});
