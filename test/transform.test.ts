import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import exifr from 'exifr';
import sharp from 'sharp';
import { Catalog } from '../sidecar/catalog/catalog';
import { indexRoot } from '../sidecar/pipeline/indexer';
import { transformImage } from '../sidecar/transform/encode';
import { previewTransform } from '../sidecar/transform/preview';
import { applyTransforms, undoTransform } from '../sidecar/transform/apply';
import { parseOptions, TransformError } from '../sidecar/transform/options';
import { outputPath } from '../sidecar/transform/naming';
import { recoverJournals, sha256 } from '../sidecar/journal/journal';
import { writeFile } from './fixtures/images';
import { SHARED_DATA, tempDir } from './helpers/temp';

before(() => {
  process.env.XDG_DATA_HOME = tempDir('loupe-xdg-');
});

const FALCON = join(SHARED_DATA, 'text2image/nature/prairie_falcon.jpg'); // 800x533 JPEG with EXIF
const ROCKS = join(SHARED_DATA, 'text2image/nature/el_torcal_rocks.jpg');
const SCREENSHOT = join(SHARED_DATA, 'ocr/tesseractjs/images/bill.png'); // 957x307 PNG with alpha channel
const ROTATED = join(SHARED_DATA, 'ocr/tesseractjs/images/simple-90.jpg'); // stored 180x320, EXIF orientation 6
const ANIMATED = join(SHARED_DATA, 'near-duplicates/imagededup/formats_images/giphy.gif'); // 4 frames

const meta = (data: Buffer | string) => sharp(data).metadata();

async function withGps(): Promise<Buffer> {
  return sharp(FALCON)
    .withExif({
      IFD0: { Make: 'Canon', Model: 'EOS 5D', Copyright: 'Jo Bloggs' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 0/1' },
    })
    .jpeg({ quality: 95 })
    .toBuffer();
}

describe('image operations', () => {
  it('resizes and converts to WebP, AVIF, mozjpeg JPEG and palette PNG', async () => {
    const original = statSync(FALCON).size;
    for (const format of ['webp', 'avif', 'jpeg', 'png'] as const) {
      const r = await transformImage(FALCON, { maxWidth: 400, format });
      const m = await meta(r.data);
      assert.equal(m.format, format === 'avif' ? 'heif' : format);
      assert.equal(m.width, 400);
      assert.equal(m.height, Math.round((533 * 400) / 800));
      assert.deepEqual([r.width, r.height], [m.width, m.height]);
      if (format === 'png') assert.equal(m.isPalette, true, 'PNG is palette-quantised');
      if (format !== 'png') assert.ok(r.data.length < original / 2, `${format} at 400 px is well under half the original (${r.data.length} vs ${original})`);
    }
    // Lower quality, fewer bytes.
    const q40 = await transformImage(FALCON, { format: 'webp', quality: 40 });
    const q90 = await transformImage(FALCON, { format: 'webp', quality: 90 });
    assert.ok(q40.data.length < q90.data.length * 0.7);
    // Presets bound the long side; smaller images are not enlarged unless asked.
    const small = await transformImage(FALCON, { maxWidth: 1920, maxHeight: 1920 });
    assert.deepEqual([small.width, small.height], [800, 533]);
    assert.equal(small.format, 'jpeg');
  });

  it('upscales with Lanczos only when asked, saying it cannot invent detail', async () => {
    const up = await transformImage(FALCON, { maxWidth: 1600, upscale: true, format: 'webp' });
    assert.equal(up.width, 1600);
    assert.ok(up.warnings.some((w) => /Lanczos.*cannot invent detail/.test(w)));
  });

  it('strips metadata and GPS by default, applies orientation, and keeps camera data without GPS on request', async () => {
    const input = await withGps();
    assert.ok((await exifr.gps(input))?.latitude, 'the test input has a GPS position');
    const stripped = await transformImage(input, { format: 'jpeg' });
    assert.equal((await meta(stripped.data)).exif, undefined, 'no EXIF at all by default');
    const kept = await transformImage(input, { format: 'jpeg', metadata: 'keep' });
    const tags = await exifr.parse(kept.data, { gps: true });
    assert.equal(tags.Make, 'Canon');
    assert.equal(tags.Copyright, 'Jo Bloggs');
    assert.equal(tags.latitude, undefined, 'GPS dropped unless asked for');
    const withPosition = await transformImage(input, { format: 'jpeg', metadata: 'keep', keepGps: true });
    assert.ok(Math.abs((await exifr.gps(withPosition.data)).latitude - 51.5) < 1e-6);

    // Stored 180x320 with orientation 6: the output is upright 320x180 and needs no tag.
    const upright = await transformImage(ROTATED, { format: 'webp' });
    assert.deepEqual([upright.width, upright.height], [320, 180]);
    assert.ok([undefined, 1].includes((await meta(upright.data)).orientation));
  });

  it('enhances: auto-level stretches contrast, saturation 0 greys, sharpen and denoise change sharpness', async () => {
    const flat = await sharp(ROCKS).linear(0.4, 80).jpeg({ quality: 95 }).toBuffer();
    const range = async (b: Buffer) => {
      const s = await sharp(b).stats();
      return s.channels[0].max - s.channels[0].min;
    };
    const levelled = await transformImage(flat, { enhance: { autoLevel: true }, format: 'png', palette: false });
    assert.ok((await range(levelled.data)) > (await range(flat)) + 60, 'auto-level widens the tonal range');

    const grey = await transformImage(FALCON, { enhance: { saturation: 0 }, format: 'png', palette: false });
    const { data } = await sharp(grey.data).raw().toBuffer({ resolveWithObject: true });
    let maxSpread = 0;
    for (let i = 0; i < data.length; i += 3) maxSpread = Math.max(maxSpread, Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]));
    assert.ok(maxSpread <= 2, `saturation 0 leaves no colour (spread ${maxSpread})`);

    const sharpness = async (b: Buffer) => (await sharp(b).stats()).sharpness;
    const base = await sharpness((await transformImage(FALCON, { format: 'png', palette: false })).data);
    const sharpened = await sharpness((await transformImage(FALCON, { format: 'png', palette: false, enhance: { sharpen: 0.5 } })).data);
    const denoised = await sharpness((await transformImage(FALCON, { format: 'png', palette: false, enhance: { denoise: 1 } })).data);
    assert.ok(sharpened > base * 1.05, `sharpen raises sharpness (${base} -> ${sharpened})`);
    assert.ok(denoised < base * 0.95, `denoise lowers it (${base} -> ${denoised})`);
  });

  it('flattens transparency onto the chosen background for JPEG', async () => {
    // The screenshot with its background made transparent.
    const rgba = await sharp(SCREENSHOT).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const px = rgba.data;
    for (let i = 0; i < px.length; i += 4) if (px[i] > 200 && px[i + 1] > 200 && px[i + 2] > 200) px[i + 3] = 0;
    const transparent = await sharp(px, { raw: { width: rgba.info.width, height: rgba.info.height, channels: 4 } }).png().toBuffer();
    const r = await transformImage(transparent, { format: 'jpeg', background: '#00ff00' });
    const m = await meta(r.data);
    assert.equal(m.format, 'jpeg');
    assert.equal(m.hasAlpha, false);
    assert.ok(r.warnings.some((w) => /transparent areas were filled with #00ff00/.test(w)));
    const corner = await sharp(r.data).extract({ left: 0, top: 0, width: 4, height: 4 }).raw().toBuffer();
    assert.ok(corner[0] < 40 && corner[1] > 200 && corner[2] < 40, `transparent corner is green: ${[...corner.subarray(0, 3)]}`);
    // PNG keeps the transparency.
    assert.equal((await meta((await transformImage(transparent, { maxWidth: 500 })).data)).hasAlpha, true);
  });

  it('keeps animation for WebP and GIF, refuses a still format clearly, or takes the first frame on request', async () => {
    const webp = await transformImage(ANIMATED, { format: 'webp', maxWidth: 200 });
    const m = await meta(webp.data);
    assert.equal(m.pages, 4);
    assert.equal(webp.frames, 4);
    assert.equal(webp.width, 200);
    assert.equal(m.height, webp.height, 'metadata gives the height of one frame');
    assert.equal(webp.height, Math.round((400 * 200) / 314));
    const gif = await transformImage(ANIMATED, { maxWidth: 200 });
    assert.equal((await meta(gif.data)).pages, 4);
    await assert.rejects(transformImage(ANIMATED, { format: 'jpeg' }), (err: TransformError) => err.code === 'animated' && /animated \(4 frames\).*WebP or GIF/.test(err.message));
    const still = await transformImage(ANIMATED, { format: 'png', animation: 'first-frame' });
    assert.equal((await meta(still.data)).pages ?? 1, 1);
    assert.ok(still.warnings.some((w) => /first frame/.test(w)));
  });

  it('converts CMYK and 16-bit sources to 8-bit sRGB', async () => {
    const cmyk = await sharp(FALCON).toColourspace('cmyk').jpeg().toBuffer();
    assert.equal((await meta(cmyk)).space, 'cmyk');
    const fromCmyk = await transformImage(cmyk, { format: 'webp' });
    assert.equal((await meta(fromCmyk.data)).space, 'srgb');
    assert.ok(fromCmyk.warnings.some((w) => /CMYK/.test(w)));
    // Colours survive: the mean differs little from the sRGB original.
    const a = (await sharp(fromCmyk.data).stats()).channels.map((c) => c.mean);
    const b = (await sharp(FALCON).stats()).channels.map((c) => c.mean);
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(a[i] - b[i]) < 20, `channel ${i}: ${a[i]} vs ${b[i]}`);

    const deep = await sharp(FALCON).toColourspace('rgb16').png().toBuffer();
    assert.equal((await meta(deep)).depth, 'ushort');
    const from16 = await transformImage(deep, { format: 'png', palette: false });
    assert.equal((await meta(from16.data)).depth, 'uchar');
    assert.ok(from16.warnings.some((w) => /16-bit/.test(w)));
  });

  it('validates options and names outputs', () => {
    assert.deepEqual(parseOptions({ format: 'jpg', quality: 70 }), { format: 'jpeg', quality: 70, maxWidth: undefined, maxHeight: undefined, upscale: undefined, keepGps: undefined, palette: undefined });
    assert.throws(() => parseOptions({ quality: 0 }), /quality must be a whole number from 1 to 100/);
    assert.throws(() => parseOptions({ format: 'bmp' }), /format must be one of/);
    assert.throws(() => parseOptions({ colour: 1 }), /unknown option "colour"/);
    assert.equal(outputPath('img/a.png', 'webp', 'beside', { width: 1, height: 1 }), 'img/a.webp');
    assert.equal(outputPath('img/a.jpeg', 'jpeg', 'beside', { width: 1, height: 1 }), 'img/a.optimised.jpeg');
    assert.equal(outputPath('img/a.jpeg', 'webp', 'beside', { width: 640, height: 1 }, '{name}-{width}w.{ext}'), 'img/a-640w.webp');
    assert.equal(outputPath('img/a.PNG', 'avif', 'replace', { width: 1, height: 1 }), 'img/a.avif');
    assert.throws(() => outputPath('a.png', 'webp', 'beside', { width: 1, height: 1 }, '../{name}.{ext}'), /same folder/);
  });
});

/** A workspace with images and Markdown documents linking to them. */
async function workspace(): Promise<{ root: string; docs: Record<string, string> }> {
  const root = tempDir();
  writeFile(join(root, 'images/shot.png'), readFileSync(SCREENSHOT));
  writeFile(join(root, 'images/falcon.jpg'), readFileSync(FALCON));
  writeFile(join(root, 'images/rocks.jpg'), readFileSync(ROCKS));
  const docs: Record<string, string> = {
    'README.md': '# Demo\n![Shot](images/shot.png "the bill")\n![Falcon](./images/falcon.jpg)\n',
    'docs/guide.md': 'See <img src="../images/shot.png" width=300> and [the file](/images/shot.png#top).\n`![code](../images/shot.png)`\n',
  };
  for (const [path, text] of Object.entries(docs)) writeFile(join(root, path), text);
  return { root, docs };
}

async function indexed(root: string): Promise<Catalog> {
  const catalog = await Catalog.open(root);
  await indexRoot(catalog, { analyzers: [] });
  return catalog;
}

const files = (dir: string) => readdirSync(dir).sort();

describe('preview and apply', () => {
  it('previews without writing, and apply writes exactly what was previewed beside the original', async () => {
    const { root } = await workspace();
    const catalog = await indexed(root);
    try {
      const before = files(join(root, 'images'));
      const previewDir = join(catalog.stateDir, 'previews');
      const p = await previewTransform(join(root, 'images/falcon.jpg'), { format: 'webp', maxWidth: 640 }, previewDir);
      assert.deepEqual(files(join(root, 'images')), before, 'preview writes nothing beside the images');
      assert.equal(p.originalBytes, statSync(FALCON).size);
      assert.deepEqual([p.width, p.format], [640, 'webp']);
      assert.ok(p.preview.startsWith(previewDir) && existsSync(p.preview));
      const pm = await meta(p.preview);
      assert.equal(pm.format, 'webp');
      assert.ok(Math.max(pm.width!, pm.height!) <= 1024);

      const result = await applyTransforms(catalog, { relPaths: ['images/falcon.jpg'], options: { format: 'webp', maxWidth: 640 } });
      assert.equal(result.files[0].status, 'done');
      assert.equal(result.files[0].output, 'images/falcon.webp');
      assert.equal(statSync(join(root, 'images/falcon.webp')).size, p.bytes, 'apply writes the previewed size');
      assert.deepEqual(readFileSync(join(root, 'images/falcon.jpg')), readFileSync(FALCON), 'the original is untouched');
      assert.equal(result.bytesSaved, p.originalBytes - p.bytes);

      // The name is taken now: no overwrite without consent.
      const again = await applyTransforms(catalog, { relPaths: ['images/falcon.jpg'], options: { format: 'webp', maxWidth: 320 } });
      assert.equal(again.files[0].status, 'skipped');
      assert.equal(again.files[0].code, 'exists');
      assert.equal(again.id, null);
      assert.equal(statSync(join(root, 'images/falcon.webp')).size, p.bytes);
      // With consent the old one goes to the trash, and undo brings it back.
      const forced = await applyTransforms(catalog, { relPaths: ['images/falcon.jpg'], options: { format: 'webp', maxWidth: 320 }, overwrite: true });
      assert.equal(forced.files[0].status, 'done');
      assert.equal((await meta(join(root, 'images/falcon.webp'))).width, 320);
      const undone = await undoTransform(catalog, forced.id!);
      assert.equal(undone.error, null);
      assert.equal((await meta(join(root, 'images/falcon.webp'))).width, 640, 'the overwritten file is back');
      await undoTransform(catalog, result.id!);
      assert.equal(existsSync(join(root, 'images/falcon.webp')), false);
      assert.deepEqual(files(join(root, 'images')), before);
    } finally {
      catalog.close();
    }
  });

  it('replace moves the original to the trash, rewrites Markdown links, and undo restores both', async () => {
    const { root, docs } = await workspace();
    const catalog = await indexed(root);
    try {
      const shotId = (await catalog.getAssetByPath('images/shot.png'))!.id;
      const result = await applyTransforms(catalog, { relPaths: ['images/shot.png', 'images/falcon.jpg'], options: { format: 'webp' }, mode: 'replace' });
      assert.deepEqual(result.files.map((f) => [f.status, f.output]), [['done', 'images/shot.webp'], ['done', 'images/falcon.webp']]);
      assert.equal(existsSync(join(root, 'images/shot.png')), false);
      assert.equal(existsSync(join(root, 'images/falcon.jpg')), false);
      assert.equal((await meta(join(root, 'images/shot.webp'))).format, 'webp');
      const journal = JSON.parse(String((await catalog.read('SELECT journal FROM resolutions WHERE id = $1', [result.id]))[0].journal)) as {
        trash: Array<{ relPath: string; trashed: { trashedPath: string } | null }>;
      };
      for (const t of journal.trash) assert.ok(t.trashed && existsSync(t.trashed.trashedPath), `${t.relPath} is in the trash`);
      assert.equal(readFileSync(join(root, 'README.md'), 'utf8'), '# Demo\n![Shot](images/shot.webp "the bill")\n![Falcon](./images/falcon.webp)\n');
      assert.equal(
        readFileSync(join(root, 'docs/guide.md'), 'utf8'),
        'See <img src="../images/shot.webp" width=300> and [the file](/images/shot.webp#top).\n`![code](../images/shot.png)`\n',
        'links in code are left alone',
      );
      assert.deepEqual(result.rewritten.map((r) => r.document).sort(), ['README.md', 'docs/guide.md']);
      assert.equal(await catalog.getAsset(shotId), null, 'the replaced original left the catalog');

      const undone = await undoTransform(catalog, result.id!);
      assert.equal(undone.error, null);
      assert.deepEqual(undone.restored.sort(), ['images/falcon.jpg', 'images/shot.png']);
      assert.deepEqual(readFileSync(join(root, 'images/shot.png')), readFileSync(SCREENSHOT));
      assert.deepEqual(readFileSync(join(root, 'images/falcon.jpg')), readFileSync(FALCON));
      assert.equal(existsSync(join(root, 'images/shot.webp')), false);
      for (const [path, text] of Object.entries(docs)) assert.equal(readFileSync(join(root, path), 'utf8'), text, `${path} restored byte for byte`);
      await assert.rejects(undoTransform(catalog, result.id!), /only applied resolutions can be undone/);
    } finally {
      catalog.close();
    }
  });

  it('replace in the same format keeps the name; read-only files, taken names and cancellation are per file', async () => {
    const { root } = await workspace();
    const catalog = await indexed(root);
    try {
      chmodSync(join(root, 'images/rocks.jpg'), 0o444);
      writeFile(join(root, 'images/shot.webp'), 'taken');
      const controller = new AbortController();
      const result = await applyTransforms(
        catalog,
        { relPaths: ['images/falcon.jpg', 'images/rocks.jpg', 'images/shot.png', '../outside.jpg'], options: { format: 'jpeg', maxWidth: 400 }, mode: 'replace' },
        {},
      );
      const byPath = new Map(result.files.map((f) => [f.source, f]));
      assert.equal(byPath.get('images/falcon.jpg')!.status, 'done');
      assert.equal((await meta(join(root, 'images/falcon.jpg'))).width, 400, 'replaced in place');
      assert.equal(byPath.get('images/rocks.jpg')!.code, 'read_only');
      assert.deepEqual(readFileSync(join(root, 'images/rocks.jpg')), readFileSync(ROCKS), 'a read-only file is never touched');
      assert.equal(byPath.get('../outside.jpg')!.code, 'outside_root');
      // shot.png -> shot.jpg: JPEG flattening, name free.
      assert.equal(byPath.get('images/shot.png')!.status, 'done');
      assert.equal(byPath.get('images/shot.png')!.output, 'images/shot.jpg');

      const webp = await applyTransforms(catalog, { relPaths: ['images/shot.jpg'], options: { format: 'webp' }, mode: 'replace' });
      assert.equal(webp.files[0].code, 'exists', 'shot.webp is taken and overwrite was not allowed');
      assert.equal(readFileSync(join(root, 'images/shot.webp'), 'utf8'), 'taken');

      // Cancelled after the first file: the rest is reported as cancelled, the first stays undoable.
      chmodSync(join(root, 'images/rocks.jpg'), 0o644);
      const cancelled = await applyTransforms(
        catalog,
        { relPaths: ['images/falcon.jpg', 'images/rocks.jpg'], options: { format: 'avif', maxWidth: 200 } },
        { signal: controller.signal, onProgress: (done) => done === 1 && controller.abort() },
      );
      assert.equal(cancelled.cancelled, true);
      assert.deepEqual(cancelled.files.map((f) => f.status), ['done', 'cancelled']);
      assert.ok(existsSync(join(root, 'images/falcon.avif')));
      assert.equal(existsSync(join(root, 'images/rocks.avif')), false);
      await undoTransform(catalog, cancelled.id!);
      assert.equal(existsSync(join(root, 'images/falcon.avif')), false);
      // Undo of the first batch puts the original falcon back in place of the resized one.
      await undoTransform(catalog, result.id!);
      assert.deepEqual(readFileSync(join(root, 'images/falcon.jpg')), readFileSync(FALCON));
      assert.deepEqual(readFileSync(join(root, 'images/shot.png')), readFileSync(SCREENSHOT));
      assert.equal(existsSync(join(root, 'images/shot.jpg')), false);
    } finally {
      catalog.close();
    }
  });

  it('refuses the whole replace up front when a linking document is read-only', async () => {
    const { root, docs } = await workspace();
    const catalog = await indexed(root);
    try {
      chmodSync(join(root, 'docs/guide.md'), 0o444);
      await assert.rejects(applyTransforms(catalog, { relPaths: ['images/shot.png'], options: { format: 'webp' }, mode: 'replace' }), /guide\.md: the file is read-only; nothing was changed/);
      assert.deepEqual(readFileSync(join(root, 'images/shot.png')), readFileSync(SCREENSHOT));
      assert.equal(existsSync(join(root, 'images/shot.webp')), false);
      assert.equal(readFileSync(join(root, 'README.md'), 'utf8'), docs['README.md']);
      writeFileSync(join(root, 'unused.txt'), '');
    } finally {
      catalog.close();
    }
  });

  it('rolls back an optimisation interrupted by a crash: written file and temporary file removed', async () => {
    const { root } = await workspace();
    const catalog = await indexed(root);
    try {
      // What a kill -9 leaves just after the rename, before the journal said so.
      const bytes = readFileSync(FALCON);
      writeFile(join(root, 'images/falcon.webp'), bytes);
      writeFile(join(root, 'images/rocks.webp.loupe-1.tmp'), 'partial');
      writeFile(join(root, 'images/mine.webp'), 'not written by Loupe');
      const journal = {
        keep: [],
        trash: [],
        rewrites: [],
        created: [
          { relPath: 'images/falcon.webp', sha256: sha256(bytes), done: false, temp: 'images/falcon.webp.loupe-1.tmp' },
          { relPath: 'images/rocks.webp', sha256: 'x', done: false, temp: 'images/rocks.webp.loupe-1.tmp' },
          { relPath: 'images/mine.webp', sha256: 'y', done: false },
        ],
      };
      await catalog.transact((q) => q.exec(`INSERT INTO resolutions (state, group_key, journal) VALUES ('applying', 'transform:beside:3', $1)`, [JSON.stringify(journal)]));
      assert.equal(await recoverJournals(catalog), 1);
      assert.equal(existsSync(join(root, 'images/falcon.webp')), false);
      assert.equal(existsSync(join(root, 'images/rocks.webp.loupe-1.tmp')), false);
      assert.equal(readFileSync(join(root, 'images/mine.webp'), 'utf8'), 'not written by Loupe', 'a file Loupe did not write is left alone');
    } finally {
      catalog.close();
    }
  });
});
