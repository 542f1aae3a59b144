/**
 * Property-based tests (fast-check): the query parser, the Markdown link extractor + rewriter, image
 * optimisation options (validation and the encoder), and the server's input validation never misbehave
 * on arbitrary input.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { posix, join } from 'node:path';
import fc from 'fast-check';
import { connectToSidecar } from '../sidecar/client/connect';
import { applyEdits, rewrittenLink } from '../sidecar/duplicates/link-rewrite';
import { METHODS } from '../sidecar/protocol';
import { extractReferences } from '../sidecar/references/extract-links';
import { parseQuery } from '../sidecar/search/query-parser';
import { parseOptions, TransformError } from '../sidecar/transform/options';
import { transformImage } from '../sidecar/transform/encode';
import sharp from 'sharp';
import { startSidecar } from './helpers/sidecar';
import { SHARED_DATA, tempDir } from './helpers/temp';

const RUNS = Number(process.env.LOUPE_FUZZ_RUNS ?? 300);

describe('query parser', () => {
  it('never throws, is deterministic, and lower-cases free words', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (q) => {
        const a = parseQuery(q);
        assert.deepEqual(parseQuery(q), a);
        for (const t of a.terms) assert.equal(t, t.toLowerCase());
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('recovers the words and folder filters a query was built from', () => {
    const word = fc.stringMatching(/^[a-z][a-z0-9]{1,9}$/).filter((w) => !['and', 'or', 'not'].includes(w));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 4 }), fc.array(word, { maxLength: 2 }), (words, folders) => {
        const q = [...words, ...folders.map((f) => `folder:${f}`)].join(' ');
        const parsed = parseQuery(q);
        for (const w of words) assert.ok(parsed.terms.join(' ').includes(w), `${w} in ${JSON.stringify(parsed.terms)}`);
        assert.deepEqual([...parsed.folders].sort(), [...new Set(folders)].sort().filter((f) => parsed.folders.includes(f)));
        assert.equal(parsed.folders.length, new Set(folders).size);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('Markdown links: extract and rewrite', () => {
  // File names with the characters that make links hard: spaces, parentheses, unicode, '#', '%'.
  const segment = fc.stringMatching(/^[a-zA-Z0-9 ()éü_#%-]{1,12}$/).filter((s) => s.trim() === s && s.length > 0 && !/^\.+$/.test(s));
  const imagePath = fc.tuple(fc.array(segment, { maxLength: 2 }), segment).map(([dirs, name]) => posix.join('img', ...dirs, `${name}.png`));
  const prose = fc.stringMatching(/^[a-zA-Z0-9 .,;:\n-]{0,30}$/);
  const encode = (p: string) => p.split('/').map((s) => encodeURIComponent(s).replace(/\(/g, '%28').replace(/\)/g, '%29')).join('/');

  it('finds every image link, and a rewrite points each at its new file and changes nothing else', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(prose, imagePath, imagePath), { minLength: 1, maxLength: 5 }), prose, (parts, tail) => {
        const doc = 'docs/page.md';
        let text = '';
        const links: Array<{ from: string; to: string }> = [];
        for (const [before, from, to] of parts) {
          text += `${before} ![pic](${encode(posix.relative('docs', from))}) `;
          links.push({ from, to });
        }
        text += tail;
        const refs = extractReferences(text, 'markdown').filter((r) => r.syntax === 'md-image');
        assert.equal(refs.length, links.length);
        refs.forEach((r, i) => assert.equal(posix.normalize(posix.join('docs', r.path)), links[i].from));
        const edits = refs.map((r, i) => ({
          start: r.start,
          end: r.end,
          from: r.raw,
          to: rewrittenLink({ document: doc, target: links[i].from, raw: r.raw, start: r.start, end: r.end, syntax: r.syntax }, links[i].to),
        }));
        const out = applyEdits(text, edits);
        const again = extractReferences(out, 'markdown').filter((r) => r.syntax === 'md-image');
        assert.equal(again.length, links.length);
        again.forEach((r, i) => assert.equal(posix.normalize(posix.join('docs', r.path)), links[i].to));
        // Outside the links, the text is what it was.
        const strip = (s: string, rs: Array<{ start: number; end: number }>) => {
          let o = s;
          for (const r of [...rs].sort((a, b) => b.start - a.start)) o = o.slice(0, r.start) + '\u0000' + o.slice(r.end);
          return o;
        };
        assert.equal(strip(out, again), strip(text, refs));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('image optimisation options', () => {
  const KEYS = ['maxWidth', 'maxHeight', 'upscale', 'format', 'quality', 'metadata', 'keepGps', 'background', 'palette', 'animation', 'enhance', 'nonsense'];
  const anyValue = fc.oneof(fc.integer({ min: -10, max: 5000 }), fc.double(), fc.boolean(), fc.string({ maxLength: 8 }), fc.constant(null), fc.constantFrom('webp', 'JPG', 'avif', 'png', 'gif', 'keep', 'strip', '#fff', '#12345g'), fc.object({ maxDepth: 1 }));

  it('accept clean options or refuse with a TransformError, and what they accept parses to itself', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom(...KEYS), anyValue, { maxKeys: 5 })), (raw) => {
        let parsed;
        try {
          parsed = parseOptions(raw);
        } catch (err) {
          assert.ok(err instanceof TransformError && err.code === 'invalid_options', String(err));
          return;
        }
        const clean = JSON.parse(JSON.stringify(parsed)) as unknown;
        assert.deepEqual(JSON.parse(JSON.stringify(parseOptions(clean))), clean);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('any valid options give a decodable image within the asked size, or a clear refusal', async () => {
    const source = await sharp({ create: { width: 96, height: 64, channels: 4, background: { r: 200, g: 40, b: 40, alpha: 0.5 } } }).png().toBuffer();
    const valid = fc.record(
      {
        maxWidth: fc.integer({ min: 1, max: 200 }),
        maxHeight: fc.integer({ min: 1, max: 200 }),
        upscale: fc.boolean(),
        format: fc.constantFrom('webp', 'avif', 'jpeg', 'png', 'gif'),
        quality: fc.integer({ min: 1, max: 100 }),
        metadata: fc.constantFrom('strip', 'keep'),
        keepGps: fc.boolean(),
        background: fc.constantFrom('#ffffff', '#000', '#3366cc'),
        palette: fc.boolean(),
        enhance: fc.record({ autoLevel: fc.boolean(), sharpen: fc.double({ min: 0, max: 1, noNaN: true }), denoise: fc.double({ min: 0, max: 1, noNaN: true }), saturation: fc.double({ min: 0, max: 2, noNaN: true }) }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(valid, async (raw) => {
        const options = parseOptions(raw);
        let out;
        try {
          out = await transformImage(source, options);
        } catch (err) {
          assert.ok(err instanceof TransformError, `only a TransformError may refuse: ${String(err)}`);
          return;
        }
        const meta = await sharp(out.data).metadata();
        assert.equal(meta.width, out.width);
        assert.ok(out.width >= 1 && out.height >= 1);
        if (!options.upscale) assert.ok(out.width <= 96 && out.height <= 64, `never larger than the source without upscale: ${out.width}x${out.height}`);
        if (options.maxWidth) assert.ok(out.width <= Math.max(options.maxWidth, 1), `${out.width} <= maxWidth ${options.maxWidth}`);
        if (options.maxHeight) assert.ok(out.height <= Math.max(options.maxHeight, 1), `${out.height} <= maxHeight ${options.maxHeight}`);
      }),
      { numRuns: Math.max(20, Math.floor(RUNS / 5)) },
    );
  });
});

describe('server input validation', () => {
  it('answers any params on any method with a result or an error, and keeps serving', { timeout: 180_000 }, async () => {
    const root = tempDir();
    copyFileSync(join(SHARED_DATA, 'text2image', 'nature', 'silver_fir.jpg'), join(root, 'fir.jpg'));
    const sidecar = await startSidecar([root], ['--no-watch'], { LOUPE_ANALYZERS: 'none' });
    const conn = await connectToSidecar(sidecar.handshake);
    try {
      await conn.connection.sendRequest('initialize', { capabilities: {} });
      // Methods that change files or stop the server get their own tests; the rest take anything.
      const methods = METHODS.requests.filter((m) => !['shutdown', 'initialize', 'files/trash', 'duplicates/resolve', 'faces/deleteAll', 'index/rescan'].includes(m));
      let errors = 0;
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...methods), fc.oneof(fc.anything(), fc.record({ root: fc.oneof(fc.constant(root), fc.string()), id: fc.oneof(fc.integer(), fc.string()), query: fc.string(), path: fc.oneof(fc.constant('../../etc/passwd'), fc.constant('/etc/passwd'), fc.string()) }, { requiredKeys: [] })), async (method, params) => {
          try {
            await conn.connection.sendRequest(method, params);
          } catch (err) {
            errors++;
            const e = err as { code?: number; message?: string };
            assert.equal(typeof e.code, 'number', `${method}: a JSON-RPC error, not a dropped connection (${String(err)})`);
          }
        }),
        { numRuns: RUNS },
      );
      assert.ok(errors > 0, 'bad params were refused');
      const status = (await conn.connection.sendRequest('index/status', {})) as { roots: Array<{ root: string }> };
      assert.equal(status.roots[0].root, root, 'still serving');
      assert.equal(sidecar.child.exitCode, null, 'still running');
    } finally {
      conn.close();
      await sidecar.stop();
    }
  });
});
