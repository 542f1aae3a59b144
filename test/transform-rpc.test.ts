import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { Catalog } from '../sidecar/catalog/catalog';
import { connectToSidecar } from '../sidecar/client/connect';
import { indexRoot } from '../sidecar/pipeline/indexer';
import * as protocol from '../sidecar/protocol';
import { parseQuery } from '../sidecar/search/query-parser';
import { SearchEngine } from '../sidecar/search/search';
import { writeFile } from './fixtures/images';
import { runCli } from './helpers/cli';
import { startSidecar, waitFor } from './helpers/sidecar';
import { SHARED_DATA, tempDir } from './helpers/temp';

before(() => {
  process.env.XDG_DATA_HOME = tempDir('loupe-xdg-');
});

const FALCON = join(SHARED_DATA, 'text2image/nature/prairie_falcon.jpg'); // 800x533
const SCREENSHOT = join(SHARED_DATA, 'ocr/tesseractjs/images/testocr.png'); // 640x480
const ANIMATED = join(SHARED_DATA, 'near-duplicates/imagededup/formats_images/giphy.gif');

function workspace(): { root: string; readme: string } {
  const root = tempDir();
  writeFile(join(root, 'img/falcon.jpg'), readFileSync(FALCON));
  writeFile(join(root, 'img/scan.png'), readFileSync(SCREENSHOT));
  writeFile(join(root, 'img/anim.gif'), readFileSync(ANIMATED));
  const readme = '# Notes\n![scan](img/scan.png)\n![bird](img/falcon.jpg)\n';
  writeFile(join(root, 'README.md'), readme);
  return { root, readme };
}

describe('finding images to optimise', () => {
  it('pixels: filters by megapixels', async () => {
    const q = parseQuery('pixels:>0.4mp');
    assert.equal(q.minPixels, 400_001);
    assert.deepEqual([parseQuery('pixels:2mp..8mp').minPixels, parseQuery('pixels:2mp..8mp').maxPixels], [2e6, 8e6]);
    assert.equal(parseQuery('pixels:<500kp').maxPixels, 499_999);
    assert.match(parseQuery('pixels:big').errors[0], /not a pixel count/);

    const { root } = workspace();
    const catalog = await Catalog.open(root);
    try {
      await indexRoot(catalog, { analyzers: [] });
      const engine = await SearchEngine.load(catalog);
      const big = await engine.search({ query: 'pixels:>0.4mp' });
      assert.deepEqual(big.items.map((h) => h.relPath), ['img/falcon.jpg'], '800x533 = 0.43 MP; 640x480 = 0.31 MP');
      assert.match(big.items[0].reasons.map((r) => r.text).join(' '), /0\.4 MP/);
      const small = await engine.search({ query: 'pixels:<0.4mp' });
      assert.deepEqual(small.items.map((h) => h.relPath).sort(), ['img/anim.gif', 'img/scan.png']);
      const structured = await engine.search({ query: '', filters: { minPixels: 300_000 } });
      assert.deepEqual(structured.items.map((h) => h.relPath).sort(), ['img/falcon.jpg', 'img/scan.png']);
    } finally {
      catalog.close();
    }
  });
});

describe('optimising over the sidecar protocol', () => {
  it('previews, applies a batch with progress, refuses bad input clearly, and undoes', async () => {
    const { root, readme } = workspace();
    const sidecar = await startSidecar([root], [], { XDG_DATA_HOME: process.env.XDG_DATA_HOME });
    const c = await connectToSidecar(sidecar.handshake);
    try {
      await waitFor('indexed', async () => {
        const s = await c.connection.sendRequest(protocol.IndexStatusRequest, {});
        return s.roots[0].state === 'idle' && s.roots[0].lastRun !== null && s.roots[0].pending === 0 && s.roots[0].images === 3;
      }, 60_000);
      const ids = new Map<string, number>();
      for (const name of ['falcon.jpg', 'scan.png', 'anim.gif']) {
        const a = await c.connection.sendRequest(protocol.AssetByPathRequest, { path: join(root, 'img', name) });
        ids.set(name, a!.id);
      }
      const before = readdirSync(join(root, 'img')).sort();

      const preview = await c.connection.sendRequest(protocol.TransformPreviewRequest, { root, id: ids.get('falcon.jpg')!, options: { format: 'webp', maxWidth: 400 } });
      assert.equal(preview.width, 400);
      assert.equal(preview.format, 'webp');
      assert.ok(preview.bytes < preview.originalBytes);
      assert.equal((await sharp(preview.preview).metadata()).format, 'webp');
      assert.deepEqual(readdirSync(join(root, 'img')).sort(), before, 'preview writes nothing beside the image');

      await assert.rejects(
        c.connection.sendRequest(protocol.TransformPreviewRequest, { root, id: ids.get('anim.gif')!, options: { format: 'jpeg' } }),
        (err: { code?: number; message?: string }) => err.code === protocol.LoupeErrorCodes.TransformRefused && /animated/.test(err.message ?? ''),
      );
      await assert.rejects(
        c.connection.sendRequest(protocol.TransformPreviewRequest, { root, id: ids.get('falcon.jpg')!, options: { quality: 500 } }),
        (err: { code?: number }) => err.code === protocol.LoupeErrorCodes.InvalidParams,
      );
      await assert.rejects(
        c.connection.sendRequest(protocol.TransformApplyRequest, { root, folder: '../..', options: {} }),
        (err: { code?: number }) => err.code === protocol.LoupeErrorCodes.InvalidParams,
      );

      const progress: Array<{ kind: string; percentage?: number }> = [];
      c.connection.onNotification('$/progress', (p: { token: string; value: { kind: string; percentage?: number } }) => {
        if (p.token === 'opt-1') progress.push(p.value);
      });
      const result = await c.connection.sendRequest(protocol.TransformApplyRequest, {
        root,
        folder: 'img',
        options: { format: 'webp', maxWidth: 400 },
        mode: 'replace',
        workDoneToken: 'opt-1',
      });
      assert.deepEqual(result.files.map((f) => [f.source, f.status, f.output]), [
        ['img/anim.gif', 'done', 'img/anim.webp'],
        ['img/falcon.jpg', 'done', 'img/falcon.webp'],
        ['img/scan.png', 'done', 'img/scan.webp'],
      ]);
      assert.equal((await sharp(join(root, 'img/anim.webp')).metadata()).pages, 4, 'the animation survives as WebP');
      assert.equal(readFileSync(join(root, 'README.md'), 'utf8'), '# Notes\n![scan](img/scan.webp)\n![bird](img/falcon.webp)\n');
      assert.ok(result.bytesSaved > 0);
      await waitFor('progress ended', () => progress.some((p) => p.kind === 'end'));
      assert.equal(progress[0].kind, 'begin');
      assert.ok(progress.some((p) => p.kind === 'report' && p.percentage === 100));
      await waitFor('the new files are indexed', async () => (await c.connection.sendRequest(protocol.SearchRequest, { query: 'ext:webp' })).total === 3);

      const undone = await c.connection.sendRequest(protocol.TransformUndoRequest, { root, id: result.id! });
      assert.equal(undone.error, null);
      assert.equal(readFileSync(join(root, 'README.md'), 'utf8'), readme);
      assert.deepEqual(readFileSync(join(root, 'img/falcon.jpg')), readFileSync(FALCON));
      assert.deepEqual(readdirSync(join(root, 'img')).sort(), before);
      await waitFor('the originals are indexed again', async () => (await c.connection.sendRequest(protocol.SearchRequest, { query: 'ext:webp' })).total === 0);
      await assert.rejects(
        c.connection.sendRequest(protocol.TransformUndoRequest, { root, id: result.id! }),
        (err: { code?: number }) => err.code === protocol.LoupeErrorCodes.ResolutionFailed,
      );

      // Cancelling on the work-done token stops between files; what was done stays undoable.
      c.connection.onNotification('$/progress', (p: { token: string; value: { kind: string } }) => {
        if (p.token === 'opt-2' && p.value.kind === 'report') void c.connection.sendNotification('window/workDoneProgress/cancel', { token: 'opt-2' });
      });
      // The restored originals are new assets for the index.
      const again = await Promise.all(['falcon.jpg', 'scan.png'].map((n) => waitFor(`${n} indexed`, () => c.connection.sendRequest(protocol.AssetByPathRequest, { path: join(root, 'img', n) }))));
      const cancelled = await c.connection.sendRequest(protocol.TransformApplyRequest, {
        root,
        ids: again.map((a) => a.id),
        options: { format: 'avif' },
        workDoneToken: 'opt-2',
      });
      assert.equal(cancelled.cancelled, true);
      assert.deepEqual(cancelled.files.map((f) => f.status), ['done', 'cancelled']);
      assert.ok(existsSync(join(root, 'img/falcon.avif')));
      assert.equal(existsSync(join(root, 'img/scan.avif')), false);
      await c.connection.sendRequest(protocol.TransformUndoRequest, { root, id: cancelled.id! });
      assert.equal(existsSync(join(root, 'img/falcon.avif')), false);
    } finally {
      c.close();
      await sidecar.stop();
    }
  });
});

describe('loupe optimise', () => {
  it('converts a folder beside the originals, reports JSON, refuses to overwrite, and undoes', () => {
    const { root } = workspace();
    const run = runCli(['optimise', join(root, 'img'), '--max-width', '320', '--format', 'webp', '--quality', '70', '--json'], { env: { ...process.env } });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as protocol.ApplyResult & { root: string };
    assert.equal(out.root, join(root, 'img'));
    assert.deepEqual(out.files.map((f) => [f.output, f.width, f.format]), [
      ['anim.webp', 314, 'webp'], // narrower than 320 already: not enlarged
      ['falcon.webp', 320, 'webp'],
      ['scan.webp', 320, 'webp'],
    ]);
    for (const f of out.files) assert.ok(existsSync(join(root, 'img', f.output!)));
    assert.ok(existsSync(join(root, 'img/falcon.jpg')), 'beside: originals stay');

    const again = runCli(['optimise', join(root, 'img/falcon.jpg'), '--max-width', '320', '--format', 'webp']);
    assert.equal(again.status, 0);
    assert.match(again.stdout, /skipped: exists.*already exists/);

    const undo = runCli(['optimise', join(root, 'img'), '--undo', String(out.id)]);
    assert.equal(undo.status, 0, undo.stderr);
    assert.match(undo.stdout, /3 written file\(s\) removed/);
    assert.equal(existsSync(join(root, 'img/falcon.webp')), false);

    const bad = runCli(['optimise', join(root, 'img'), '--quality', '0']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /quality must be a whole number from 1 to 100/);
  });
});
