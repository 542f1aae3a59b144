import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Catalog } from '../sidecar/catalog/catalog';
import { indexRoot } from '../sidecar/pipeline/indexer';
import { makeImage, makePngBomb, writeFile } from './fixtures/images';
import { runCli } from './helpers/cli';
import { SHARED_DATA, tempDir } from './helpers/temp';

interface StatusJson {
  ok: number;
  errors: number;
  failures: Array<{ relPath: string; code: string; message: string }>;
}

describe('bad input never stops an index run', () => {
  it('records a readable error per bad file, indexes the good ones, and `loupe status` lists them', async () => {
    const root = tempDir();
    const realJpeg = readFileSync(join(SHARED_DATA, 'text2image/nature/prairie_falcon.jpg'));
    const realPng = await makeImage('png', 300, 200, 5);
    writeFile(join(root, 'good/falcon.jpg'), realJpeg);
    writeFile(join(root, 'good/shape.png'), realPng);
    writeFile(join(root, 'empty.jpg'), '');
    writeFile(join(root, 'empty.png'), '');
    writeFile(join(root, 'truncated.jpg'), realJpeg.subarray(0, Math.floor(realJpeg.length / 2)));
    writeFile(join(root, 'truncated.png'), realPng.subarray(0, Math.floor(realPng.length / 2)));
    writeFile(join(root, 'photo.svg'), realJpeg); // a JPEG wearing an SVG name: indexed as what it is
    writeFile(join(root, 'readme.png'), 'This is a text file with an image name.\n');
    writeFile(join(root, 'bomb.png'), await makePngBomb(30000, 30000));
    writeFile(join(root, 'old.bmp'), Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]));
    symlinkSync('self-loop.jpg', join(root, 'self-loop.jpg'));
    mkdirSync(join(root, 'deep/er'), { recursive: true });
    symlinkSync('../..', join(root, 'deep/er/up'));
    const outside = tempDir('loupe-outside-');
    copyFileSync(join(SHARED_DATA, 'text2image/nature/silver_fir.jpg'), join(outside, 'fir.jpg'));
    symlinkSync(join(outside, 'fir.jpg'), join(root, 'escape.jpg'));
    symlinkSync(outside, join(root, 'escape-dir'));
    writeFile(join(root, 'vanishes.jpg'), realJpeg.subarray(0, realJpeg.length - 10));

    const catalog = await Catalog.open(root);
    let deleted = false;
    const summary = await indexRoot(catalog, {
      onProgress: (p) => {
        // Delete a file after the scan saw it but before it is decoded.
        if (p.phase === 'index' && !deleted) {
          rmSync(join(root, 'vanishes.jpg'));
          deleted = true;
        }
      },
    });
    assert.equal(summary.cancelled, false);
    const byPath = new Map((await catalog.summary()).failures.map((f) => [f.relPath, f]));
    const expectError = (path: string, code: string, message: RegExp) => {
      const f = byPath.get(path);
      assert.ok(f, `${path} has a recorded error`);
      assert.equal(f.code, code, `${path}: ${f.message}`);
      assert.match(f.message, message);
    };
    expectError('empty.jpg', 'corrupt', /empty \(0 bytes\)/);
    expectError('empty.png', 'corrupt', /empty/);
    expectError('truncated.jpg', 'corrupt', /JPEG is damaged or truncated/);
    expectError('truncated.png', 'corrupt', /PNG is damaged or truncated/);
    expectError('readme.png', 'not_image', /named like PNG but its content is not an image/);
    expectError('bomb.png', 'too_large', /30000x30000 \(900 MP\), above the 200 MP limit/);
    expectError('old.bmp', 'unsupported_format', /BMP images are not supported/);
    expectError('self-loop.jpg', 'symlink_loop', /loop/);
    expectError('deep/er/up', 'symlink_loop', /ancestor/);
    expectError('escape.jpg', 'outside_root', /outside the indexed folder/);
    expectError('escape-dir', 'outside_root', /outside the indexed folder/);
    expectError('vanishes.jpg', 'vanished', /deleted or moved while indexing/);

    const disguised = await catalog.getAssetByPath('photo.svg');
    assert.equal(disguised?.status, 'ok');
    assert.equal(disguised?.format, 'jpeg');
    assert.equal((await catalog.getAssetByPath('good/falcon.jpg'))?.status, 'ok');
    assert.equal((await catalog.getAssetByPath('good/shape.png'))?.width, 300);
    assert.equal(await catalog.getAssetByPath('escape-dir/fir.jpg'), null, 'nothing outside the root is read');
    catalog.close();

    const status = runCli(['status', root, '--json']);
    assert.equal(status.status, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as StatusJson;
    assert.equal(parsed.ok, 3);
    for (const path of ['empty.jpg', 'truncated.jpg', 'readme.png', 'bomb.png', 'self-loop.jpg', 'escape.jpg', 'vanishes.jpg']) {
      assert.ok(parsed.failures.some((f) => f.relPath === path), `status lists ${path}`);
    }
    const human = runCli(['status', root]);
    assert.match(human.stdout, /bomb\.png: image is 30000x30000/);

    // The next run removes the vanished file and keeps the rest stable.
    const again = await Catalog.open(root);
    const second = await indexRoot(again);
    assert.equal(second.processed, 0);
    assert.equal(await again.getAssetByPath('vanishes.jpg'), null);
    again.close();
  });

  it('records unreadable files (permission denied) and goes on', async () => {
    const root = tempDir();
    chmodSync(root, 0o777);
    writeFile(join(root, 'fine.png'), await makeImage('png', 20, 20, 1));
    writeFile(join(root, 'secret.png'), await makeImage('png', 20, 20, 2));
    chmodSync(join(root, 'secret.png'), 0o000);
    mkdirSync(join(root, 'locked'));
    writeFile(join(root, 'locked/inside.png'), await makeImage('png', 20, 20, 3));
    chmodSync(join(root, 'locked'), 0o000);
    const cache = tempDir();
    chmodSync(cache, 0o777);
    // Root reads everything regardless of permissions, so run the index as an unprivileged user then.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const run = runCli(['index', root], { ...asUser, env: { ...process.env, LOUPE_CACHE_DIR: cache, HOME: cache } });
    assert.equal(run.status, 0, run.stderr);
    const status = runCli(['status', root, '--json'], { ...asUser, env: { ...process.env, LOUPE_CACHE_DIR: cache, HOME: cache } });
    const parsed = JSON.parse(status.stdout) as StatusJson;
    assert.equal(parsed.ok, 1);
    const secret = parsed.failures.find((f) => f.relPath === 'secret.png');
    assert.equal(secret?.code, 'unreadable');
    assert.match(secret?.message ?? '', /EACCES/);
    const locked = parsed.failures.find((f) => f.relPath === 'locked');
    assert.equal(locked?.code, 'unreadable');
    chmodSync(join(root, 'locked'), 0o755);
    chmodSync(join(root, 'secret.png'), 0o644);
    writeFileSync(join(root, 'unused'), '');
  });
});
