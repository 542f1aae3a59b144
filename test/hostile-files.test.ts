/**
 * A hostile corpus, generated at test time: every file ends as a correct result or a recorded,
 * readable error, within the time and memory limits, and nothing outside the machine is contacted.
 * (test/bad-input.test.ts covers truncated/empty files, a PNG bomb, wrong names, symlink escapes.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { Catalog } from '../sidecar/catalog/catalog';
import { indexRoot } from '../sidecar/pipeline/indexer';
import { makeAnimatedGif, makeImage, writeFile } from './fixtures/images';
import { SHARED_DATA, tempDir } from './helpers/temp';

/** A baseline JPEG whose header claims 60000x60000 pixels: a JPEG decompression bomb. */
function jpegBomb(real: Buffer): Buffer {
  const out = Buffer.from(real);
  for (let i = 2; i < out.length - 9; i++) {
    // SOF0/SOF2 marker: FF C0/C2, length(2), precision(1), height(2), width(2)
    if (out[i] === 0xff && (out[i + 1] === 0xc0 || out[i + 1] === 0xc2)) {
      out.writeUInt16BE(60000, i + 5);
      out.writeUInt16BE(60000, i + 7);
      return out;
    }
  }
  throw new Error('no SOF marker');
}

describe('hostile files', () => {
  it('ends every file as a result or a readable error, fetches nothing, runs nothing', { timeout: 240_000 }, async () => {
    const root = tempDir();
    const realJpeg = readFileSync(join(SHARED_DATA, 'text2image/nature/prairie_falcon.jpg'));
    // A server the SVGs point at: it must never be asked for anything.
    let fetched = 0;
    const server = createServer((_req, res) => {
      fetched++;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      writeFile(join(root, 'bomb.jpg'), jpegBomb(realJpeg));
      writeFile(join(root, 'one-pixel.png'), await sharp({ create: { width: 1, height: 1, channels: 3, background: '#f00' } }).png().toBuffer());
      writeFile(join(root, 'one-row.png'), await sharp({ create: { width: 4000, height: 1, channels: 3, background: '#0f0' } }).png().toBuffer());
      writeFile(join(root, 'big-100mp.jpg'), await sharp({ create: { width: 12500, height: 8000, channels: 3, background: '#345' } }).jpeg({ quality: 50 }).toBuffer());
      writeFile(join(root, 'cmyk.jpg'), await sharp(realJpeg).toColourspace('cmyk').jpeg().toBuffer());
      writeFile(join(root, 'sixteen-bit.png'), await sharp(realJpeg).toColourspace('rgb16').png().toBuffer());
      writeFile(join(root, 'many-frames.gif'), await makeAnimatedGif(16, Array.from({ length: 1500 }, (_, i) => [i % 256, (i * 7) % 256, (i * 13) % 256] as [number, number, number])));
      writeFile(join(root, 'animated.webp'), await sharp(await makeAnimatedGif(32, [[255, 0, 0], [0, 255, 0], [0, 0, 255]]), { animated: true }).webp().toBuffer());
      for (const o of [1, 2, 3, 4, 5, 6, 7, 8]) {
        writeFile(join(root, `orientation-${o}.jpg`), await sharp({ create: { width: 60, height: 30, channels: 3, background: '#888' } }).withMetadata({ orientation: o }).jpeg().toBuffer());
      }
      writeFile(join(root, 'absurd-exif.jpg'), await makeImage('jpeg', 64, 48, 3, { exif: { IFD0: { Make: 'x'.repeat(5000), Model: '\u0000\u0001<script>', DateTime: '9999:99:99 99:99:99' } } }));
      writeFile(
        join(root, 'external.svg'),
        `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100">
          <script>fetch('http://127.0.0.1:${port}/script')</script>
          <image href="http://127.0.0.1:${port}/href.png" width="50" height="50"/>
          <image xlink:href="http://127.0.0.1:${port}/xlink.png" width="50" height="50"/>
          <rect width="100" height="100" fill="url(http://127.0.0.1:${port}/fill#x)"/>
          <style>@import url(http://127.0.0.1:${port}/style.css);</style>
        </svg>`,
      );
      const lol = ['<?xml version="1.0"?>', '<!DOCTYPE svg [', '<!ENTITY a "lollollollollollollollollollol">'];
      for (let i = 1; i < 10; i++) lol.push(`<!ENTITY ${String.fromCharCode(97 + i)} "${`&${String.fromCharCode(96 + i)};`.repeat(10)}">`);
      lol.push(']>', '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&j;</text></svg>');
      writeFile(join(root, 'billion-laughs.svg'), lol.join('\n'));
      copyFileSync(join(SHARED_DATA, 'text2image/nature/silver_fir.jpg'), join(root, 'naïve café 写真.jpg'));
      copyFileSync(join(SHARED_DATA, 'text2image/nature/silver_fir.jpg'), join(root, 'new\nline.jpg'));
      execFileSync('mkfifo', [join(root, 'pipe.jpg')]);

      const catalog = await Catalog.open(root);
      const t0 = Date.now();
      const summary = await indexRoot(catalog, {});
      const seconds = (Date.now() - t0) / 1000;
      assert.equal(summary.cancelled, false);
      const s = await catalog.summary();
      const failures = new Map(s.failures.map((f) => [f.relPath, f]));
      const ok = async (path: string) => {
        const a = await catalog.getAssetByPath(path);
        assert.equal(a?.status, 'ok', `${path}: ${failures.get(path)?.message ?? 'not indexed'}`);
        return a!;
      };
      const failed = (path: string, code: RegExp) => {
        const f = failures.get(path);
        assert.ok(f, `${path} has a recorded error`);
        assert.match(f.code, code, `${path}: ${f.code} ${f.message}`);
        assert.ok(f.message.length > 10 && !/undefined|\[object/.test(f.message), `${path}: a readable message (${f.message})`);
      };
      failed('bomb.jpg', /too_large|corrupt/);
      assert.equal((await ok('one-pixel.png')).width, 1);
      assert.equal((await ok('one-row.png')).height, 1);
      assert.equal((await ok('big-100mp.jpg')).width, 12500);
      await ok('cmyk.jpg');
      await ok('sixteen-bit.png');
      await ok('many-frames.gif');
      await ok('animated.webp');
      for (const o of [1, 2, 3, 4, 5, 6, 7, 8]) {
        const a = await ok(`orientation-${o}.jpg`);
        // Orientations 5-8 turn the picture a quarter: the displayed size is 30x60.
        assert.deepEqual([a.width, a.height], o >= 5 ? [30, 60] : [60, 30], `orientation ${o}`);
      }
      await ok('absurd-exif.jpg');
      await ok('naïve café 写真.jpg');
      await ok('new\nline.jpg');
      // The external SVG renders without its references; the entity bomb is refused or rendered small.
      await ok('external.svg');
      const lolAsset = await catalog.getAssetByPath('billion-laughs.svg');
      assert.ok(lolAsset?.status === 'ok' || failures.has('billion-laughs.svg'), 'the entity bomb ended');
      // A FIFO is not a file: recorded, never opened (reading it would block forever).
      failed('pipe.jpg', /unreadable/);
      assert.match(failures.get('pipe.jpg')!.message, /not a regular file/);
      assert.equal(fetched, 0, 'no SVG reference or script reached the network');
      assert.ok(seconds < 180, `the corpus took ${seconds} s`);
      catalog.close();
    } finally {
      server.close();
    }
  });
});
