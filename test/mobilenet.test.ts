/**
 * MobileNetV2 (int8) analyzer: the in-memory graph edit that exposes the global-pool embedding,
 * preprocessing per MODELS.md, sensible ImageNet labels on real photos, an embedding that keeps
 * copies close and unrelated photos apart, the rows it writes, what happens without the model,
 * and its cost per image. Real onnxruntime, real weights (LOUPE_MODELS_DIR or ../shared/models).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { loadDefaultAnalyzers } from '../sidecar/analyzers/default-analyzers';
import { LABELS_PER_IMAGE, MAX_LABELS_PER_IMAGE, MIN_LABEL_SCORE, MOBILENET_EMBEDDING } from '../sidecar/analyzers/mobilenet/analyzer';
import { EMBEDDING_DIM, EMBEDDING_OUTPUT, GAP_SCALE, LOGITS_OUTPUT, ModelGraphError, withEmbeddingOutput } from '../sidecar/analyzers/mobilenet/graph';
import { loadMobileNetAnalyzer } from '../sidecar/analyzers/mobilenet/load';
import { MOBILENET_MODEL_ID, type MobileNet } from '../sidecar/analyzers/mobilenet/model';
import { centreCrop, MEAN, preprocess, STD, toInputTensor } from '../sidecar/analyzers/mobilenet/preprocess';
import { pdqAnalyzer } from '../sidecar/analyzers/pdq-analyzer';
import { Catalog } from '../sidecar/catalog/catalog';
import { decodeImage, type DecodedImage } from '../sidecar/decode/decode';
import { ModelResolver } from '../sidecar/models/resolver';
import type { Analyzer } from '../sidecar/pipeline/analyzer';
import { indexRoot } from '../sidecar/pipeline/indexer';
import { dot, prepareVector } from '../sidecar/vectors/transform';
import { imageNetClasses, mobileNet, mobileNetAnalyzer, testResolver, WORDNET, type ImageNetClass } from './helpers/mobilenet';
import { SHARED_DATA, tempDir } from './helpers/temp';

const NATURE = join(SHARED_DATA, 'text2image/nature');
const LFW = join(SHARED_DATA, 'faces/lfw10/images');
const UKBENCH_BASE = join(SHARED_DATA, 'near-duplicates/imagededup/base_images');
const LABELME = join(SHARED_DATA, 'pdq/data/reg-test-input/labelme-subset');
const signal = new AbortController().signal;

async function decode(path: string): Promise<DecodedImage> {
  return decodeImage(path, path);
}

describe('MobileNetV2 int8 analyzer', () => {
  let model: MobileNet;
  let analyzer: Analyzer;
  let classes: ImageNetClass[];
  let modelPath: string;

  before(async () => {
    modelPath = await testResolver().resolveFile(MOBILENET_MODEL_ID, undefined, { download: false });
    model = await mobileNet();
    analyzer = await mobileNetAnalyzer();
    classes = imageNetClasses();
  });

  const labelsOf = async (path: string) => {
    const rows = await analyzer.analyze(await decode(path), signal);
    return rows.image_labels.map((r) => ({ cls: classes[r.class_index as number], score: r.score as number }));
  };

  it('exposes the dequantized global-pool activation as a [1, 1280] float output (graph edited in memory)', async () => {
    const original = readFileSync(modelPath);
    const edited = withEmbeddingOutput(original);
    assert.deepEqual(readFileSync(modelPath), original, 'the file on disk is untouched');
    const graph = onnx.ModelProto.decode(edited).graph as onnx.GraphProto;
    const added = (graph.node.slice(-2) as onnx.NodeProto[]).map((n) => `${n.opType}(${n.input.join(',')})->${n.output.join(',')}`);
    assert.deepEqual(added, [`DequantizeLinear(464_quantized,464_scale,464_zero_point)->${EMBEDDING_OUTPUT}_nchw`, `Flatten(${EMBEDDING_OUTPUT}_nchw)->${EMBEDDING_OUTPUT}`]);

    // Cross-check against the float 7x7 feature map the graph already has ("627"): the embedding
    // is its spatial mean, up to one quantization step of the pooled tensor.
    const probe = onnx.ModelProto.decode(edited);
    const g = probe.graph as onnx.GraphProto;
    g.output.push(onnx.ValueInfoProto.create({ name: '627', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
    const session = await ort.InferenceSession.create(onnx.ModelProto.encode(probe).finish(), { intraOpNumThreads: 1 });
    try {
      const input = await preprocess(await decode(join(NATURE, 'el_torcal_rocks.jpg')));
      const out = await session.run({ input: new ort.Tensor('float32', input, [1, 3, 224, 224]) });
      assert.deepEqual(out[LOGITS_OUTPUT].dims, [1, 1000]);
      assert.deepEqual(out[EMBEDDING_OUTPUT].dims, [1, EMBEDDING_DIM]);
      assert.deepEqual(out['627'].dims, [1, EMBEDDING_DIM, 7, 7]);
      const emb = out[EMBEDDING_OUTPUT].data as Float32Array;
      const map = out['627'].data as Float32Array;
      const scale = (g.initializer.find((t) => t.name === GAP_SCALE) as onnx.TensorProto).floatData[0];
      let worst = 0;
      for (let c = 0; c < EMBEDDING_DIM; c++) {
        let sum = 0;
        for (let i = 0; i < 49; i++) sum += map[c * 49 + i];
        worst = Math.max(worst, Math.abs(sum / 49 - emb[c]));
        const steps = emb[c] / scale;
        assert.ok(Math.abs(steps - Math.round(steps)) < 1e-3 && steps > -0.5 && steps < 255.5, 'values are uint8 steps of 464_scale');
      }
      assert.ok(worst <= scale * 1.01, `embedding = spatial mean of the feature map (worst difference ${worst}, step ${scale})`);
      assert.ok(emb.some((v) => v > 0));
    } finally {
      await session.release();
    }
  });

  it('refuses a graph that is not the expected export', () => {
    const m = onnx.ModelProto.decode(readFileSync(modelPath));
    const g = m.graph as onnx.GraphProto;
    g.node = g.node.filter((n) => n.name !== 'GlobalAveragePool_97_quant');
    assert.throws(() => withEmbeddingOutput(onnx.ModelProto.encode(m).finish()), ModelGraphError);
  });

  it('preprocesses like MODELS.md: short side 256, centre crop 224, /255, ImageNet mean/std', async () => {
    // 600x300, thirds red | green | blue. Short side 256 makes it 512x256; the crop starts at x=144,
    // so the red/green edge (source x=200, resized 170.7) lands at crop column ~27. (Resizing the
    // short side straight to 224 would put it at ~37.)
    const w = 600;
    const h = 300;
    const rgb = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgb[(y * w + x) * 3 + (x < 200 ? 0 : x < 400 ? 1 : 2)] = 255;
    const crop = await centreCrop({ rgb, rgbWidth: w, rgbHeight: h });
    assert.equal(crop.length, 224 * 224 * 3);
    const px = (x: number, y = 112) => [...crop.subarray((y * 224 + x) * 3, (y * 224 + x) * 3 + 3)];
    assert.deepEqual(px(20), [255, 0, 0]);
    assert.deepEqual(px(34), [0, 255, 0]);
    assert.deepEqual(px(112), [0, 255, 0]);
    assert.deepEqual(px(223), [0, 0, 255]);
    const t = toInputTensor(crop);
    const plane = 224 * 224;
    const i = 112 * 224 + 20; // a red pixel
    assert.ok(Math.abs(t[i] - (1 - MEAN[0]) / STD[0]) < 1e-5);
    assert.ok(Math.abs(t[plane + i] - (0 - MEAN[1]) / STD[1]) < 1e-5);
    assert.ok(Math.abs(t[2 * plane + i] - (0 - MEAN[2]) / STD[2]) < 1e-5);
    // A 1440x12 strip takes the crop-first path and still gives the model 224x224.
    const strip = await centreCrop({ rgb: Buffer.alloc(1440 * 12 * 3, 90), rgbWidth: 1440, rgbHeight: 12 });
    assert.equal(strip.length, 224 * 224 * 3);
  });

  it('labels real photos sensibly (top classes with softmax scores)', async () => {
    const falcon = await labelsOf(join(NATURE, 'prairie_falcon.jpg'));
    assert.ok(falcon.length >= LABELS_PER_IMAGE && falcon.length <= MAX_LABELS_PER_IMAGE, `${falcon.length} labels`);
    assert.ok(falcon.slice(LABELS_PER_IMAGE).every((l) => l.score >= MIN_LABEL_SCORE), 'beyond the top 5 only likely classes');
    for (let k = 1; k < falcon.length; k++) assert.ok(falcon[k - 1].score >= falcon[k].score, 'best first');
    assert.ok(falcon.every((l) => l.score > 0 && l.score <= 1) && falcon.reduce((a, l) => a + l.score, 0) <= 1 + 1e-6);
    const names = (ls: typeof falcon) => ls.map((l) => `${l.cls.name} ${l.score.toFixed(3)}`).join(', ');
    assert.ok(falcon.some((l) => l.cls.ancestors.has(WORDNET.bird)), `a bird among the falcon's top 5: ${names(falcon)}`);

    const rocks = await labelsOf(join(NATURE, 'el_torcal_rocks.jpg'));
    assert.ok(rocks[0].cls.ancestors.has(WORDNET.geologicalFormation), `karst rocks: ${names(rocks)}`);
    assert.equal(rocks[0].cls.name, 'cliff');

    for (const p of ['George_W_Bush/George_W_Bush_0001.jpg', 'Colin_Powell/Colin_Powell_0003.jpg']) {
      const portrait = await labelsOf(join(LFW, p));
      assert.ok(portrait[0].cls.ancestors.has(WORDNET.clothing), `a suit-and-tie portrait: ${names(portrait)}`);
    }

    // Flowers: an insect or a flower-ish class leads, never a vehicle or an animal of the wrong kind.
    const polemonium = await labelsOf(join(NATURE, 'polemonium_reptans.jpg'));
    assert.ok(['bee', 'daisy', 'cabbage butterfly', 'sulphur butterfly', 'rapeseed'].includes(polemonium[0].cls.name), names(polemonium));
  });

  it("keeps an image's flipped and resized copies much closer than unrelated photos", async (t) => {
    const sources = [join(NATURE, 'el_torcal_rocks.jpg'), join(LFW, 'George_W_Bush/George_W_Bush_0001.jpg'), join(UKBENCH_BASE, 'ukbench09380.jpg')];
    const others = [
      ...readdirSync(NATURE).map((f) => join(NATURE, f)),
      ...readdirSync(LFW).map((p) => join(LFW, p, `${p}_0002.jpg`)),
      ...readdirSync(LABELME).map((f) => join(LABELME, f)),
      ...readdirSync(UKBENCH_BASE).map((f) => join(UKBENCH_BASE, f)),
    ].filter((p) => !sources.includes(p));
    const embed = async (img: DecodedImage) => (await model.infer(await preprocess(img))).embedding;
    const raw = new Map<string, Float32Array>();
    for (const p of [...sources, ...others]) raw.set(p, await embed(await decode(p)));
    for (const src of sources) {
      const d = await decode(src);
      const rawImg = { raw: { width: d.rgbWidth, height: d.rgbHeight, channels: 3 as const } };
      const flipped = await sharp(d.rgb, rawImg).flop().jpeg({ quality: 85 }).toBuffer();
      const half = await sharp(d.rgb, rawImg).resize(Math.round(d.rgbWidth / 2)).jpeg({ quality: 85 }).toBuffer();
      for (const [tag, buf] of [['flipped', flipped], ['resized', half]] as const) {
        const copy = await sharp(buf).raw().toBuffer({ resolveWithObject: true });
        raw.set(`${src}#${tag}`, await embed({ ...d, rgb: copy.data, rgbWidth: copy.info.width, rgbHeight: copy.info.height }));
      }
    }
    // Centre on the mean of this little library, as the vector index does.
    const p = (x: number) => Math.pow(x, 0.25);
    const mean = new Float32Array(EMBEDDING_DIM);
    for (const v of raw.values()) for (let i = 0; i < EMBEDDING_DIM; i++) mean[i] += p(v[i]) / raw.size;
    const vec = new Map<string, Float32Array>();
    for (const [k, v] of raw) {
      const out = new Float32Array(EMBEDDING_DIM);
      assert.ok(prepareVector(v, mean, out));
      vec.set(k, out);
    }
    for (const src of sources) {
      const flip = dot(vec.get(src)!, vec.get(`${src}#flipped`)!);
      const resized = dot(vec.get(src)!, vec.get(`${src}#resized`)!);
      const unrelated = Math.max(...others.map((o) => dot(vec.get(src)!, vec.get(o)!)));
      const line = `${src.split('/').pop()}: flipped ${flip.toFixed(3)}, half size ${resized.toFixed(3)}, closest of ${others.length} unrelated ${unrelated.toFixed(3)}`;
      t.diagnostic(line);
      assert.ok(Math.min(flip, resized) >= 0.7, `copies stay close: ${line}`);
      assert.ok(unrelated <= 0.5, `unrelated photos stay apart: ${line}`);
      assert.ok(Math.min(flip, resized) - unrelated >= 0.3, `by a wide margin: ${line}`);
      // Each copy's nearest neighbour is its original.
      for (const tag of ['flipped', 'resized']) {
        const copy = vec.get(`${src}#${tag}`)!;
        const best = [...vec.keys()].filter((k) => !k.startsWith(src)).reduce((a, k) => Math.max(a, dot(copy, vec.get(k)!)), -1);
        assert.ok(dot(copy, vec.get(src)!) > best, `${tag} ${src} is nearest to its original`);
      }
    }
  });

  it('writes image_embeddings (1280 floats) and the top image_labels through the indexer', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'birds'));
    copyFileSync(join(NATURE, 'prairie_falcon.jpg'), join(root, 'birds/falcon.jpg'));
    copyFileSync(join(NATURE, 'tanners_ridge.jpg'), join(root, 'ridge.jpg'));
    const catalog = await Catalog.open(root);
    try {
      const summary = await indexRoot(catalog, { analyzers: [pdqAnalyzer, analyzer] });
      assert.equal(summary.failed, 0);
      const falcon = (await catalog.getAssetByPath('birds/falcon.jpg'))!;
      assert.deepEqual(falcon.analyzerVersions, { mobilenet: 2, pdq: 1 });
      const emb = await catalog.rawQuery('SELECT model, vector FROM image_embeddings WHERE asset_id = $1', [falcon.id]);
      assert.equal(emb.length, 1);
      assert.equal(emb[0].model, MOBILENET_EMBEDDING);
      const v = emb[0].vector as number[];
      assert.equal(v.length, EMBEDDING_DIM);
      const direct = (await model.infer(await preprocess(await decode(join(root, 'birds/falcon.jpg'))))).embedding;
      assert.ok(v.every((x, i) => Math.abs(x - direct[i]) <= 1e-6 * Math.max(1, Math.abs(x))), 'stored exactly (float32)');
      const labels = await catalog.rawQuery('SELECT class_index, score FROM image_labels WHERE asset_id = $1 ORDER BY score DESC', [falcon.id]);
      assert.ok(labels.length >= LABELS_PER_IMAGE && labels.length <= MAX_LABELS_PER_IMAGE);
      assert.ok(labels.some((l) => classes[l.class_index as number].ancestors.has(WORDNET.bird)));
      // A second run does nothing: both analyzers are recorded at their versions.
      assert.equal((await indexRoot(catalog, { analyzers: [pdqAnalyzer, analyzer] })).processed, 0);
    } finally {
      catalog.close();
    }
  });

  it('without the model, indexing goes on without the analyzer, after one clear note', async () => {
    const empty = tempDir();
    const resolver = new ModelResolver({ modelsDir: join(empty, 'models'), cacheDir: join(empty, 'cache') });
    const notes: string[] = [];
    const analyzers = await loadDefaultAnalyzers({ resolver, download: false, onUnavailable: (m) => notes.push(m) });
    assert.deepEqual(analyzers.map((a) => a.name), ['pdq', 'colours']);
    // One note per missing model: MobileNetV2 (labels, similar) and YOLOX (objects).
    assert.equal(notes.length, 2);
    assert.match(notes[1], /object tags are off: the yolox-nano model is not available/);
    assert.match(notes[0], /image labels and similar images are off: the mobilenetv2-int8 model is not available/);
    assert.match(notes[0], /loupe models fetch mobilenetv2-int8|LOUPE_MODELS_DIR/);
    // Asked again (the next index run), it stays off without repeating the note or the lookup.
    assert.equal(await loadMobileNetAnalyzer({ resolver, download: false, onUnavailable: (m) => notes.push(m) }), null);
    assert.equal(notes.length, 2);

    const root = tempDir();
    copyFileSync(join(NATURE, 'silver_fir.jpg'), join(root, 'fir.jpg'));
    const catalog = await Catalog.open(root);
    try {
      const summary = await indexRoot(catalog, { analyzers });
      assert.equal(summary.processed, 1);
      assert.equal(summary.failed, 0);
      assert.equal((await catalog.rawQuery('SELECT count(*) AS n FROM image_embeddings'))[0].n, 0n);
    } finally {
      catalog.close();
    }
  });

  it('costs a few milliseconds per image (measured and reported)', async (t) => {
    const files = [...readdirSync(NATURE).map((f) => join(NATURE, f)), ...readdirSync(LABELME).map((f) => join(LABELME, f))];
    const images = await Promise.all(files.map(decode));
    await analyzer.analyze(images[0], signal); // warm-up
    let pre = 0;
    let infer = 0;
    const start = performance.now();
    for (const img of images) {
      const t0 = performance.now();
      const input = await preprocess(img);
      const t1 = performance.now();
      await model.infer(input);
      pre += t1 - t0;
      infer += performance.now() - t1;
    }
    const whole = performance.now();
    for (const img of images) await analyzer.analyze(img, signal);
    const analyzeMs = (performance.now() - whole) / images.length;
    const msg = `mobilenet analyzer: ${analyzeMs.toFixed(1)} ms/image over ${images.length} decoded photos (preprocess ${(pre / images.length).toFixed(1)} ms + inference ${(infer / images.length).toFixed(1)} ms, ${model.intraOpThreads} intra-op thread); total ${((whole - start) / images.length).toFixed(1)} ms/image`;
    t.diagnostic(msg);
    assert.ok(analyzeMs < 250, msg);
  });
});
