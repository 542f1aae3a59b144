// The parts of semantic search on their own: preprocessing per model config, config files overriding
// the manifest, the encoders (batching, fixed-batch exports, text cache), the batching hook in the
// indexer, CLIP rows next to MobileNet's, and the plain-cosine USearch index. Models are generated
// (test/helpers/clip-models.ts); everything else is real (sharp, onnxruntime, DuckDB, USearch).
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { Catalog } from '../sidecar/catalog/catalog';
import { BUILTIN_MANIFEST, type ModelManifest } from '../sidecar/models/manifest';
import { ModelResolver } from '../sidecar/models/resolver';
import { indexRoot } from '../sidecar/pipeline/indexer';
import { Batcher } from '../sidecar/pipeline/batcher';
import { createClipAnalyzer } from '../sidecar/semantic/analyzer';
import { ClipConfigError, loadClipConfig } from '../sidecar/semantic/config';
import { clipCrop, clipPreprocess } from '../sidecar/semantic/preprocess';
import { resolveClipModel } from '../sidecar/semantic/load';
import { clipIndexFor, SemanticSearch } from '../sidecar/semantic/semantic-search';
import type { ClipModel } from '../sidecar/semantic/clip-model';
import { closeEmbeddingIndexes } from '../sidecar/vectors/registry';
import { COLOUR_MODEL_ID, generateColourClip, generateMobileClipLike, MOBILECLIP_LIKE_ID } from './helpers/clip-models';
import { COLOUR_FILES, makeColourLibrary, RED_FILES, serveFolder } from './helpers/colour-library';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gitBlobSha1 } from '../sidecar/models/hub-checksums';
import { mobileNetAnalyzer } from './helpers/mobilenet';
import { SHARED_MODELS, tempDir } from './helpers/temp';

/** Green | red | green, 200 x 100: the centre square is all red. */
async function stripes(): Promise<{ rgb: Buffer; rgbWidth: number; rgbHeight: number }> {
  const rgb = Buffer.alloc(200 * 100 * 3);
  for (let y = 0; y < 100; y++) for (let x = 0; x < 200; x++) {
    const p = (y * 200 + x) * 3;
    const red = x >= 50 && x < 150;
    rgb[p] = red ? 255 : 0;
    rgb[p + 1] = red ? 0 : 255;
  }
  return { rgb, rgbWidth: 200, rgbHeight: 100 };
}

async function colourModel(): Promise<{ model: ClipModel; resolver: ModelResolver }> {
  const dir = tempDir('loupe-clip-unit-');
  const gen = generateColourClip(dir);
  const resolver = new ModelResolver({ manifest: gen.manifest, modelsDir: dir, cacheDir: join(dir, 'cache') });
  const model = await resolveClipModel(resolver, COLOUR_MODEL_ID, { download: false });
  await model.load();
  return { model, resolver };
}

describe('CLIP preprocessing', () => {
  it('"shortest" takes the centre square after scaling the short side; "squash" keeps the whole frame', async () => {
    const image = await stripes();
    const crop = await clipCrop(image, { imageSize: 32, interpolation: 'bicubic', resizeMode: 'shortest' });
    assert.equal(crop.length, 32 * 32 * 3);
    // Only red in the centre crop (the outermost columns may blend with the green border under bicubic).
    for (let y = 0; y < 32; y++) for (let x = 1; x < 31; x++) {
      const p = (y * 32 + x) * 3;
      assert.ok(crop[p] > 240 && crop[p + 1] < 15, `red at ${x},${y}: ${crop[p]},${crop[p + 1]}`);
    }
    assert.ok(crop[1] < 80, 'even the edge column is mostly red');
    const squashed = await clipCrop(image, { imageSize: 32, interpolation: 'bilinear', resizeMode: 'squash' });
    assert.ok(squashed[1] > 240, 'the left edge is green when squashed');
    assert.ok(squashed[16 * 3] > 240, 'the middle is red');
  });

  it('normalises with the model mean and std into CHW float32, RGB order', async () => {
    const image = await stripes();
    const config = { imageSize: 8, interpolation: 'nearest' as const, resizeMode: 'shortest' as const, mean: [0.5, 0.25, 0] as [number, number, number], std: [0.5, 0.25, 1] as [number, number, number] };
    const t = await clipPreprocess(image, { ...config, modelId: 'x', contextLength: 77, padToken: null, imageInput: 'image', textInput: 'text', textInputType: 'int32', minSimilarity: 0, maxGapFromBest: 1 });
    assert.equal(t.length, 3 * 64);
    assert.ok(Math.abs(t[0] - 1) < 1e-6, 'R: (1 - 0.5) / 0.5');
    assert.ok(Math.abs(t[64] + 1) < 1e-6, 'G: (0 - 0.25) / 0.25');
    assert.ok(Math.abs(t[128]) < 1e-6, 'B: 0');
  });
});

describe('CLIP model config', () => {
  it("reads the folder's config.json, preprocess_cfg.json and tokenizer_config.json over the manifest", () => {
    const dir = tempDir();
    const gen = generateColourClip(dir, { imageSize: 40 });
    const files = Object.fromEntries(gen.entry.files.map((f) => [f.path, join(dir, f.path)]));
    const config = loadClipConfig({ ...gen.entry, preprocessing: { imageSize: 224, mean: [0, 0, 0], std: [1, 1, 1], interpolation: 'bilinear' } }, files);
    assert.equal(config.imageSize, 40);
    assert.deepEqual(config.mean, [0.5, 0.5, 0.5]);
    assert.equal(config.interpolation, 'bicubic');
    assert.equal(config.resizeMode, 'shortest');
    assert.equal(config.contextLength, 77);
    assert.equal(config.padToken, '<|endoftext|>');
    assert.throws(() => loadClipConfig({ ...gen.entry, preprocessing: { interpolation: 'hamming' } }, {}), ClipConfigError);
  });

  it('the built-in catalog offers the default, Immich\'s default and MobileCLIP2-S0, all opt-in, with the layout parts', () => {
    const clip = BUILTIN_MANIFEST.models.filter((m) => m.task === 'clip');
    assert.deepEqual(clip.map((m) => m.id), ['ViT-B-32__laion2b-s34b-b79k', 'ViT-B-32__openai', 'MobileCLIP2-S0']);
    for (const m of clip) assert.equal(m.optIn, true);
    const paths = clip[0].files.map((f) => f.path.replace('clip/ViT-B-32__laion2b-s34b-b79k/', ''));
    assert.deepEqual(paths.sort(), ['config.json', 'textual/model.onnx', 'textual/tokenizer.json', 'textual/tokenizer_config.json', 'visual/model.onnx', 'visual/preprocess_cfg.json']);
    const mobile = clip[2];
    assert.deepEqual(mobile.files.map((f) => [f.size, f.sha256?.slice(0, 8)]), [[45557999, 'd78bf2af'], [64423473, '06bb86af']]);
  });
});

describe('unpinned model files (the Immich exports until their sha256 is pinned)', () => {
  it('are downloaded, checked against the sha256 recorded then, and fetched again when the copy is damaged', async () => {
    const dir = tempDir('loupe-unpinned-');
    const server = await serveFolder(dir);
    try {
      const gen = generateColourClip(dir, { baseUrl: server.baseUrl });
      for (const f of gen.entry.files) {
        f.sha256 = null;
        f.size = null;
        f.approxSize = 1000;
      }
      const cache = tempDir('loupe-unpinned-cache-');
      const resolver = new ModelResolver({ manifest: gen.manifest, modelsDir: null, cacheDir: cache });
      const files = await resolver.resolve(COLOUR_MODEL_ID);
      const visual = files[`clip/${COLOUR_MODEL_ID}/visual/model.onnx`];
      assert.match(readFileSync(`${visual}.sha256`, 'utf8'), /^[0-9a-f]{64}\n$/);
      const fetched = server.requests.length;
      const again = new ModelResolver({ manifest: gen.manifest, modelsDir: null, cacheDir: cache });
      await again.resolve(COLOUR_MODEL_ID);
      assert.equal(server.requests.length, fetched, 'the recorded sha256 matches: nothing fetched again');
      writeFileSync(visual, Buffer.from('damaged'));
      const third = new ModelResolver({ manifest: gen.manifest, modelsDir: null, cacheDir: cache });
      assert.deepEqual((await third.verify(COLOUR_MODEL_ID)).filter((v) => !v.verified).map((v) => v.path), [`clip/${COLOUR_MODEL_ID}/visual/model.onnx`]);
      await third.resolve(COLOUR_MODEL_ID);
      assert.equal(server.requests.length, fetched + 1, 'only the damaged file is fetched again');
      assert.deepEqual(readFileSync(visual), readFileSync(join(dir, `clip/${COLOUR_MODEL_ID}/visual/model.onnx`)));
      // In the configured folder (put there by the user) an unpinned file is taken as it is.
      const byHand = new ModelResolver({ manifest: gen.manifest, modelsDir: dir, cacheDir: tempDir() });
      assert.ok((await byHand.verify(COLOUR_MODEL_ID)).every((v) => v.verified && v.location === 'configured'));
    } finally {
      await server.close();
    }
  });
});

describe('unpinned files on a model hub (Hugging Face layout)', () => {
  /**
   * A local server laid out like huggingface.co: files under /<owner>/<repo>/resolve/main/ and the
   * API's file listing (LFS sha256 for the models, git blob ids for the JSON files) under /api.
   */
  async function hub(): Promise<{ manifest: ModelManifest; served: string; api: string; server: Awaited<ReturnType<typeof serveFolder>> }> {
    const root = tempDir('loupe-hub-');
    const gen = generateColourClip(join(root, 'gen'));
    const repo = 'immich-app/Test-CLIP';
    const served = join(root, repo, 'resolve', 'main');
    const listing = gen.entry.files.map((f) => {
      const rel = f.path.slice(`clip/${COLOUR_MODEL_ID}/`.length);
      const bytes = readFileSync(join(root, 'gen', f.path));
      mkdirSync(dirname(join(served, rel)), { recursive: true });
      writeFileSync(join(served, rel), bytes);
      return rel.endsWith('.onnx')
        ? { type: 'file', path: rel, size: bytes.length, oid: gitBlobSha1(Buffer.from('pointer')), lfs: { oid: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, pointerSize: 134 } }
        : { type: 'file', path: rel, size: bytes.length, oid: gitBlobSha1(bytes) };
    });
    const api = join(root, 'api', 'models', repo, 'tree', 'main');
    mkdirSync(dirname(api), { recursive: true });
    writeFileSync(api, JSON.stringify([{ type: 'directory', path: 'visual', size: 0, oid: 'x' }, ...listing]));
    const server = await serveFolder(root);
    const manifest = structuredClone(gen.manifest);
    for (const f of manifest.models[0].files) {
      f.url = `${server.baseUrl}/${repo}/resolve/main/${f.path.slice(`clip/${COLOUR_MODEL_ID}/`.length)}`;
      f.sha256 = null;
      f.size = null;
      f.approxSize = 1000;
    }
    return { manifest, served, api, server };
  }

  it('are downloaded only when they match the size and checksum the hub publishes', async () => {
    const h = await hub();
    try {
      const cache = tempDir('loupe-hub-cache-');
      const files = await new ModelResolver({ manifest: h.manifest, modelsDir: null, cacheDir: cache }).resolve(COLOUR_MODEL_ID);
      assert.equal(Object.keys(files).length, 6);
      assert.equal(h.server.requests.filter((u) => u.startsWith('/api/')).length, 1, 'one listing request covers every file');
      const visual = files[`clip/${COLOUR_MODEL_ID}/visual/model.onnx`];
      assert.deepEqual(readFileSync(visual), readFileSync(join(h.served, 'visual/model.onnx')));
      assert.match(readFileSync(`${visual}.sha256`, 'utf8'), /^[0-9a-f]{64}\n$/);

      // A swapped model file (same size, other bytes) is refused and not kept.
      const weights = readFileSync(join(h.served, 'visual/model.onnx'));
      weights[weights.length - 1] ^= 0xff;
      writeFileSync(join(h.served, 'visual/model.onnx'), weights);
      const cache2 = tempDir('loupe-hub-cache-');
      await assert.rejects(new ModelResolver({ manifest: h.manifest, modelsDir: null, cacheDir: cache2 }).resolveFile(COLOUR_MODEL_ID, `clip/${COLOUR_MODEL_ID}/visual/model.onnx`), /sha256 mismatch/);
      assert.equal(existsSync(join(cache2, `clip/${COLOUR_MODEL_ID}/visual/model.onnx`)), false);

      // So is a changed JSON file (checked by its git blob id).
      writeFileSync(join(h.served, 'config.json'), readFileSync(join(h.served, 'config.json'), 'utf8').replace('77', '78'));
      await assert.rejects(new ModelResolver({ manifest: h.manifest, modelsDir: null, cacheDir: cache2 }).resolveFile(COLOUR_MODEL_ID, `clip/${COLOUR_MODEL_ID}/config.json`), /git blob id mismatch|size/);
      assert.equal(existsSync(join(cache2, `clip/${COLOUR_MODEL_ID}/config.json`)), false);
    } finally {
      await h.server.close();
    }
  });

  it('are not downloaded at all when the hub publishes no checksum for them', async () => {
    const h = await hub();
    try {
      rmSync(h.api);
      const cache = tempDir('loupe-hub-cache-');
      await assert.rejects(new ModelResolver({ manifest: h.manifest, modelsDir: null, cacheDir: cache }).resolve(COLOUR_MODEL_ID), /could not read the published checksums/);
      assert.deepEqual(h.server.requests.filter((u) => u.includes('/resolve/')), [], 'no file was fetched');
    } finally {
      await h.server.close();
    }
  });
});

describe('CLIP encoders', () => {
  it('encode a batch exactly like one image at a time, and cache text embeddings', async () => {
    const { model } = await colourModel();
    const images = await Promise.all(['#d02020', '#20c020', '#2020d0'].map(async (c) => {
      const { data, info } = await sharp({ create: { width: 50, height: 30, channels: 3, background: c } }).raw().toBuffer({ resolveWithObject: true });
      return clipPreprocess({ rgb: data, rgbWidth: info.width, rgbHeight: info.height }, model.config);
    }));
    const batch = await model.encodeImages(images);
    for (const [i, t] of images.entries()) assert.deepEqual([...(await model.encodeImages([t]))[0]], [...batch[i]]);
    const red = await model.encodeText('Red');
    assert.ok(model.hasCachedText('Red'));
    assert.equal(await model.encodeText('Red'), red, 'the second call is the cached vector');
    const dots = batch.map((v) => v.reduce((a, x, k) => a + x * red[k], 0));
    assert.ok(dots[0] > 0.9 && dots[1] < 0 && dots[2] < 0, dots.join(', '));
  });

  it('runs a MobileCLIP2-style export: fixed batch 1, [0,1] input, tokenizer from the clip-tokenizer entry', async () => {
    const cache = tempDir('loupe-mobileclip-');
    const gen = generateMobileClipLike(join(cache));
    const tokenizerEntry = BUILTIN_MANIFEST.models.find((m) => m.id === 'clip-tokenizer')!;
    const manifest: ModelManifest = { models: [gen.entry, tokenizerEntry] };
    // The generated files sit in the cache folder (pinned sha256); the gz vocabulary in ../shared/models.
    const resolver = new ModelResolver({ manifest, modelsDir: SHARED_MODELS, cacheDir: cache });
    const model = await resolveClipModel(resolver, MOBILECLIP_LIKE_ID, { download: false });
    assert.match(model.paths.tokenizer, /bpe_simple_vocab_16e6\.txt\.gz$/);
    await model.load();
    const tensors = await Promise.all([[220, 30, 25], [30, 200, 40], [25, 40, 210]].map(async ([r, g, b]) => {
      const { data } = await sharp({ create: { width: 60, height: 60, channels: 3, background: { r, g, b } } }).raw().toBuffer({ resolveWithObject: true });
      return clipPreprocess({ rgb: data, rgbWidth: 60, rgbHeight: 60 }, model.config);
    }));
    const vectors = await model.encodeImages(tensors);
    const text = await model.encodeText('green');
    const dots = vectors.map((v) => v.reduce((a, x, k) => a + x * text[k], 0));
    assert.ok(dots[1] > 0.9 && dots[0] < 0 && dots[2] < 0, dots.join(', '));
  });
});

describe('batching', () => {
  it('Batcher runs full batches at once and a remainder after a short wait; a failure reaches every member', async () => {
    const runs: number[][] = [];
    const b = new Batcher<number, number>(2, async (xs) => {
      runs.push(xs);
      return xs.map((x) => x * 10);
    }, 10);
    assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map((x) => b.push(x))), [10, 20, 30, 40, 50]);
    assert.deepEqual(runs, [[1, 2], [3, 4], [5]]);
    const failing = new Batcher<number, number>(3, async () => {
      throw new Error('boom');
    }, 5);
    const results = await Promise.allSettled([failing.push(1), failing.push(2)]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  });

  it('the indexer keeps a batch of images in flight, and CLIP rows sit next to MobileNet rows', async () => {
    const { model, resolver } = await colourModel();
    const batches: number[] = [];
    const encode = model.encodeImages.bind(model);
    model.encodeImages = async (ts) => {
      batches.push(ts.length);
      return encode(ts);
    };
    const root = await makeColourLibrary();
    const catalog = await Catalog.open(root);
    try {
      const clip = createClipAnalyzer(model, { batchSize: 4 });
      const summary = await indexRoot(catalog, { analyzers: [await mobileNetAnalyzer(), clip], concurrency: 1 });
      assert.equal(summary.failed, 0);
      const n = Object.keys(COLOUR_FILES).length;
      assert.equal(batches.reduce((a, b) => a + b, 0), n);
      assert.ok(Math.max(...batches) > 1, `images were encoded in batches (${batches.join(', ')})`);
      const rows = await catalog.read(`SELECT model, count(*) AS n, max(len(vector)) AS d FROM image_embeddings GROUP BY model ORDER BY model`);
      assert.deepEqual(rows.map((r) => [r.model, Number(r.n), Number(r.d)]), [['mobilenetv2-gap', n, 1280], [COLOUR_MODEL_ID, n, 8]]);

      // The CLIP index is plain cosine: its similarity is the dot product of the stored vectors.
      const index = await clipIndexFor(catalog, COLOUR_MODEL_ID);
      assert.equal(index.size, n);
      assert.equal(index.centre, false);
      const text = index.prepare(await model.encodeText('red'))!;
      const hits = index.searchVector(text, 3);
      const paths = new Map((await catalog.read(`SELECT id, rel_path FROM assets`)).map((r) => [Number(r.id), r.rel_path as string]));
      assert.deepEqual(hits.slice(0, 2).map((h) => paths.get(h.id)).sort(), RED_FILES);
      const stored = await catalog.read(`SELECT vector FROM image_embeddings WHERE model = $1 AND asset_id = $2`, [COLOUR_MODEL_ID, hits[0].id]);
      const exact = (stored[0].vector as number[]).reduce((a, x, k) => a + x * text[k], 0);
      assert.ok(Math.abs(exact - hits[0].similarity) < 0.02, `${exact} vs ${hits[0].similarity} (f16)`);

      // The semantic query cuts at the model's threshold: "yellow" finds the one yellow image only.
      process.env.LOUPE_CLIP_MODEL = COLOUR_MODEL_ID;
      const semantic = new SemanticSearch(catalog, undefined, () => resolver);
      const yellow = await semantic.query('something yellow');
      assert.deepEqual(yellow.matches.map((m) => paths.get(m.id)), ['home/img-007.png']);
      assert.equal(yellow.notice, null);
      assert.deepEqual((await semantic.query('a cat')).matches, [], 'no colour word: nothing passes the cut');
    } finally {
      delete process.env.LOUPE_CLIP_MODEL;
      await closeEmbeddingIndexes(catalog);
      catalog.close();
    }
  });
});
