/**
 * Small CLIP-family ONNX models built here (no CLIP weights exist on this machine), with the real
 * exports' input/output names and shapes (Immich layout: image "image" float32 [N,3,S,S], text
 * "text" int32 [N,77], output "embedding" [N,D]), written in Immich's folder layout with a model
 * catalog JSON (sizes and sha256) that LOUPE_MODEL_CATALOG or a ModelResolver can use.
 *
 * - colour model: the image tower pools the normalised colour of the crop; the text tower sums a
 *   direction per colour word ("red" -> +R -G -B), so "red" finds red images through the whole
 *   pipeline (tokenizer, preprocessing, encoders, index, fusion, RPC) and "a cat" finds nothing.
 * - ViT-B/32-like model: random weights with ViT-B/32's cost (patch 32, 12 layers, width 768; text
 *   12 layers, width 512), for speed and memory benchmarks only.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import type { ModelEntry, ModelManifest } from '../../sidecar/models/manifest';
import { ClipTokenizer } from '../../sidecar/semantic/tokenizer';
import { SHARED_MODELS } from './temp';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT32 = onnx.TensorProto.DataType.INT32;
const INT64 = onnx.TensorProto.DataType.INT64;
export const TOKENIZER_JSON = join(SHARED_MODELS, 'clip-tokenizer', 'tokenizer.json');

type Dim = number | string;

class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly inits: onnx.ITensorProto[] = [];
  private n = 0;

  name(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }

  floats(name: string, dims: number[], data: Float32Array): string {
    this.inits.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  ints(name: string, data: number[]): string {
    const arr = BigInt64Array.from(data.map((x) => BigInt(x)));
    this.inits.push({ name, dims: [data.length], dataType: INT64, rawData: new Uint8Array(arr.buffer) });
    return name;
  }

  scalarInt(name: string, v: number): string {
    const arr = BigInt64Array.from([BigInt(v)]);
    this.inits.push({ name, dims: [], dataType: INT64, rawData: new Uint8Array(arr.buffer) });
    return name;
  }

  op(opType: string, inputs: string[], attrs: Record<string, number | number[]> = {}, output?: string): string {
    const out = output ?? this.name(opType.toLowerCase());
    const attribute = Object.entries(attrs).map(([name, v]) =>
      Array.isArray(v)
        ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v })
        : Number.isInteger(v)
          ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v })
          : onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v }),
    );
    this.nodes.push(onnx.NodeProto.create({ name: out, opType, input: inputs, output: [out], attribute }));
    return out;
  }

  model(input: { name: string; type: number; dims: Dim[] }, output: { name: string; dims: Dim[] }): Uint8Array {
    const shape = (dims: Dim[]) => ({ dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'loupe-test',
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        node: this.nodes,
        initializer: this.inits,
        input: [{ name: input.name, type: { tensorType: { elemType: input.type, shape: shape(input.dims) } } }],
        output: [{ name: output.name, type: { tensorType: { elemType: FLOAT, shape: shape(output.dims) } } }],
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** Colour words and their directions in (R, G, B) of the normalised image ((x/255 - 0.5) / 0.5). */
export const COLOUR_WORDS: Record<string, [number, number, number]> = {
  red: [1, -1, -1],
  green: [-1, 1, -1],
  blue: [-1, -1, 1],
  yellow: [1, 1, -1],
  teal: [-1, 1, 1],
  purple: [1, -1, 1],
  white: [1, 1, 1],
  black: [-1, -1, -1],
};
const COLOUR_DIMS = 8;

function colourVisual(size: number, batch: Dim = 'batch', rawInput = false): Uint8Array {
  const g = new GraphBuilder();
  let pooled = g.op('ReduceMean', ['image'], { axes: [2, 3], keepdims: 0 });
  // MobileCLIP-style input is RGB in [0, 1] without mean/std: centre it inside the graph.
  if (rawInput) pooled = g.op('Sub', [pooled, g.floats('half', [], new Float32Array([0.5]))]);
  const w = new Float32Array(3 * COLOUR_DIMS);
  for (let c = 0; c < 3; c++) w[c * COLOUR_DIMS + c] = 1;
  g.op('MatMul', [pooled, g.floats('w', [3, COLOUR_DIMS], w)], {}, 'embedding');
  return g.model({ name: 'image', type: FLOAT, dims: [batch, 3, size, size] }, { name: 'embedding', dims: [batch, COLOUR_DIMS] });
}

function colourTextual(tokenizer: ClipTokenizer, contextLength: number, batch: Dim = 'batch'): Uint8Array {
  const g = new GraphBuilder();
  const table = new Float32Array(49408 * COLOUR_DIMS);
  for (const [word, dir] of Object.entries(COLOUR_WORDS)) {
    const ids = tokenizer.encodeText(word);
    if (ids.length !== 1) throw new Error(`"${word}" is not one token`);
    table.set(dir, ids[0] * COLOUR_DIMS);
  }
  const gathered = g.op('Gather', [g.floats('tokens', [49408, COLOUR_DIMS], table), 'text'], { axis: 0 });
  g.op('ReduceSum', [gathered, g.ints('axes', [1])], { keepdims: 0 }, 'embedding');
  return g.model({ name: 'text', type: INT32, dims: [batch, contextLength] }, { name: 'embedding', dims: [batch, COLOUR_DIMS] });
}

/** Deterministic small random weights (xorshift), scaled like a trained layer's. */
function randomWeights(n: number, scale: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

/** A pre-norm transformer block stack (attention + QuickGELU MLP), x: [N, L, W]. */
function transformer(g: GraphBuilder, x: string, width: number, heads: number, layers: number, seed: number, mask: string | null): string {
  const dh = width / heads;
  const scale = 1 / Math.sqrt(width);
  const w = (name: string, rows: number, cols: number) => g.floats(g.name(name), [rows, cols], randomWeights(rows * cols, scale, seed++));
  const ones = g.floats('ln_scale', [width], new Float32Array(width).fill(1));
  const zeros = g.floats('ln_bias', [width], new Float32Array(width));
  const qkvShape = g.ints('qkv_shape', [0, 0, 3, heads, dh]);
  const outShape = g.ints('out_shape', [0, 0, width]);
  const attnScale = g.floats('attn_scale', [], new Float32Array([1 / Math.sqrt(dh)]));
  const geluK = g.floats('gelu_k', [], new Float32Array([1.702]));
  const idx = [0, 1, 2].map((i) => g.scalarInt(`qkv_${i}`, i));
  for (let l = 0; l < layers; l++) {
    const h = g.op('LayerNormalization', [x, ones, zeros], { axis: -1 });
    const qkv = g.op('Reshape', [g.op('MatMul', [h, w('wqkv', width, 3 * width)]), qkvShape]);
    const t = g.op('Transpose', [qkv], { perm: [2, 0, 3, 1, 4] });
    const [q, k, v] = idx.map((i) => g.op('Gather', [t, i], { axis: 0 }));
    let scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), attnScale]);
    if (mask) scores = g.op('Add', [scores, mask]);
    const attn = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [attn], { perm: [0, 2, 1, 3] }), outShape]);
    x = g.op('Add', [x, g.op('MatMul', [merged, w('wo', width, width)])]);
    const h2 = g.op('LayerNormalization', [x, ones, zeros], { axis: -1 });
    const up = g.op('MatMul', [h2, w('w1', width, 4 * width)]);
    const act = g.op('Mul', [up, g.op('Sigmoid', [g.op('Mul', [up, geluK])])]);
    x = g.op('Add', [x, g.op('MatMul', [act, w('w2', 4 * width, width)])]);
  }
  return g.op('LayerNormalization', [x, ones, zeros], { axis: -1 });
}

function vitVisual(size: number, patch: number, width: number, layers: number, embed: number): Uint8Array {
  const g = new GraphBuilder();
  const grid = size / patch;
  const conv = g.op('Conv', ['image', g.floats('patch_w', [width, 3, patch, patch], randomWeights(width * 3 * patch * patch, 0.02, 7))], {
    kernel_shape: [patch, patch],
    strides: [patch, patch],
  });
  const tokens = g.op('Transpose', [g.op('Reshape', [conv, g.ints('flat', [0, width, grid * grid])])], { perm: [0, 2, 1] });
  const x = g.op('Add', [tokens, g.floats('pos', [grid * grid, width], randomWeights(grid * grid * width, 0.02, 11))]);
  const out = transformer(g, x, width, width / 64, layers, 100, null);
  const pooled = g.op('ReduceMean', [out], { axes: [1], keepdims: 0 });
  g.op('MatMul', [pooled, g.floats('proj', [width, embed], randomWeights(width * embed, 0.04, 13))], {}, 'embedding');
  return g.model({ name: 'image', type: FLOAT, dims: ['batch', 3, size, size] }, { name: 'embedding', dims: ['batch', embed] });
}

function vitTextual(contextLength: number, width: number, layers: number, embed: number): Uint8Array {
  const g = new GraphBuilder();
  const tok = g.op('Gather', [g.floats('tok_emb', [49408, width], randomWeights(49408 * width, 0.02, 17)), 'text'], { axis: 0 });
  const x = g.op('Add', [tok, g.floats('pos', [contextLength, width], randomWeights(contextLength * width, 0.01, 19))]);
  const mask = new Float32Array(contextLength * contextLength);
  for (let i = 0; i < contextLength; i++) for (let j = i + 1; j < contextLength; j++) mask[i * contextLength + j] = -1e9;
  const out = transformer(g, x, width, width / 64, layers, 200, g.floats('causal', [contextLength, contextLength], mask));
  const pooled = g.op('ReduceMean', [out], { axes: [1], keepdims: 0 });
  g.op('MatMul', [pooled, g.floats('proj', [width, embed], randomWeights(width * embed, 0.04, 23))], {}, 'embedding');
  return g.model({ name: 'text', type: INT32, dims: ['batch', contextLength] }, { name: 'embedding', dims: ['batch', embed] });
}

export interface GeneratedClip {
  /** Folder to use as LOUPE_MODELS_DIR (holds clip/<id>/...). */
  modelsDir: string;
  /** Model catalog JSON for LOUPE_MODEL_CATALOG. */
  catalogPath: string;
  id: string;
  entry: ModelEntry;
  manifest: ModelManifest;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function writeModel(
  modelsDir: string,
  id: string,
  parts: { visual: Uint8Array; textual: Uint8Array; config: object | null; preprocess: object | null; tokenizerConfig: object | null },
  preprocessing: Record<string, unknown>,
  baseUrl: string | null,
): GeneratedClip {
  const dir = join(modelsDir, 'clip', id);
  mkdirSync(join(dir, 'visual'), { recursive: true });
  mkdirSync(join(dir, 'textual'), { recursive: true });
  writeFileSync(join(dir, 'visual', 'model.onnx'), parts.visual);
  writeFileSync(join(dir, 'textual', 'model.onnx'), parts.textual);
  const rels = ['visual/model.onnx', 'textual/model.onnx'];
  // The MobileCLIP2 export is two bare models: no config files, the tokenizer comes from elsewhere.
  if (parts.config && parts.preprocess && parts.tokenizerConfig) {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(parts.config));
    writeFileSync(join(dir, 'visual', 'preprocess_cfg.json'), JSON.stringify(parts.preprocess));
    writeFileSync(join(dir, 'textual', 'tokenizer_config.json'), JSON.stringify(parts.tokenizerConfig));
    copyFileSync(TOKENIZER_JSON, join(dir, 'textual', 'tokenizer.json'));
    rels.unshift('config.json');
    rels.push('visual/preprocess_cfg.json', 'textual/tokenizer.json', 'textual/tokenizer_config.json');
  }
  const entry: ModelEntry = {
    id,
    name: `generated test model ${id}`,
    task: 'clip',
    licence: 'test',
    source: 'generated by test/helpers/clip-models.ts',
    optIn: true,
    files: rels.map((rel) => {
      const path = `clip/${id}/${rel}`;
      const abs = join(modelsDir, path);
      return { path, size: statSync(abs).size, sha256: sha256(abs), url: baseUrl ? `${baseUrl}/${path}` : null };
    }),
    preprocessing,
  };
  const manifest: ModelManifest = { models: [entry] };
  const catalogPath = join(modelsDir, `catalog-${id}.json`);
  writeFileSync(catalogPath, JSON.stringify(manifest, null, 1));
  return { modelsDir, catalogPath, id, entry, manifest };
}

export const COLOUR_MODEL_ID = 'test-colour-clip';

/** The meaningful colour model (tiny; builds in milliseconds). */
export function generateColourClip(modelsDir: string, options: { id?: string; baseUrl?: string | null; imageSize?: number } = {}): GeneratedClip {
  const id = options.id ?? COLOUR_MODEL_ID;
  const size = options.imageSize ?? 64;
  const tokenizer = ClipTokenizer.fromFile(TOKENIZER_JSON);
  return writeModel(
    modelsDir,
    id,
    {
      visual: colourVisual(size),
      textual: colourTextual(tokenizer, 77),
      config: { embed_dim: COLOUR_DIMS, vision_cfg: { image_size: size }, text_cfg: { context_length: 77 } },
      preprocess: { size: [size, size], mode: 'RGB', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], interpolation: 'bicubic', resize_mode: 'shortest', fill_color: 0 },
      tokenizerConfig: { pad_token: '<|endoftext|>' },
    },
    // The colour directions: a matching image scores ~0.9+, a half-matching one ~0.3, others below 0.
    { minSimilarity: 0.5, maxGapFromBest: 0.3 },
    options.baseUrl ?? null,
  );
}

export const MOBILECLIP_LIKE_ID = 'test-colour-mobileclip';

/**
 * The colour model exported the way MODELS.md describes MobileCLIP2-S0: fixed batch 1, RGB in
 * [0,1] (no mean/std), bilinear, only the two model files; the tokenizer is the `clip-tokenizer`
 * entry (the gz vocabulary). Its catalog also lists that tokenizer entry.
 */
export function generateMobileClipLike(modelsDir: string): GeneratedClip {
  const size = 48;
  const tokenizer = ClipTokenizer.fromFile(TOKENIZER_JSON);
  const gen = writeModel(
    modelsDir,
    MOBILECLIP_LIKE_ID,
    { visual: colourVisual(size, 1, true), textual: colourTextual(tokenizer, 77, 1), config: null, preprocess: null, tokenizerConfig: null },
    { imageSize: size, mean: [0, 0, 0], std: [1, 1, 1], interpolation: 'bilinear', resizeMode: 'shortest', contextLength: 77, tokenizerModel: 'clip-tokenizer', minSimilarity: 0.5, maxGapFromBest: 0.3 },
    null,
  );
  return gen;
}

export const VIT_B32_LIKE_ID = 'test-vit-b-32-like';

/** Random-weight model with ViT-B/32's shapes and cost (~350 MB image + ~250 MB text tower). */
export function generateVitB32Like(modelsDir: string, options: { layers?: number } = {}): GeneratedClip {
  const layers = options.layers ?? 12;
  return writeModel(
    modelsDir,
    VIT_B32_LIKE_ID,
    {
      visual: vitVisual(224, 32, 768, layers, 512),
      textual: vitTextual(77, 512, layers, 512),
      config: { embed_dim: 512, vision_cfg: { image_size: 224, layers, width: 768, patch_size: 32 }, text_cfg: { context_length: 77, width: 512, layers } },
      preprocess: { size: [224, 224], mode: 'RGB', mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.2613026, 0.2757771], interpolation: 'bicubic', resize_mode: 'shortest' },
      tokenizerConfig: { pad_token: '<|endoftext|>' },
    },
    {},
    null,
  );
}
