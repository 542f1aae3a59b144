import * as ort from 'onnxruntime-node';
import { createModelSession, type ModelSession } from '../inference/model-session';
import type { ClipConfig } from './config';
import { ClipTokenizer } from './tokenizer';

/** Text embeddings kept per model (queries typed again, paging, "as you type" prefixes). */
const TEXT_CACHE_SIZE = 256;

export class ClipModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClipModelError';
  }
}

/**
 * onnxruntime intra-op threads for the CLIP sessions: LOUPE_CLIP_THREADS, else
 * LOUPE_INTRA_OP_THREADS, else 1. On the 2-core development machine (shared, load average 6-7)
 * one thread encoded 5.7-7.7 images/s against 2.0-5.2 with two (npm run bench -- clip): the
 * spinning second thread loses to the decoders and other work; a session runs one batch at a time.
 */
export function defaultClipThreads(): number {
  for (const name of ['LOUPE_CLIP_THREADS', 'LOUPE_INTRA_OP_THREADS']) {
    const env = Number.parseInt(process.env[name] ?? '', 10);
    if (Number.isFinite(env) && env > 0) return env;
  }
  return 1;
}

export function l2normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  if (!(n > 0) || !Number.isFinite(n)) return v;
  const inv = 1 / Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}

export interface ClipModelPaths {
  visual: string;
  textual: string;
  tokenizer: string;
}

interface Tower {
  session: ModelSession;
  output: string;
  /** Whether the first input dimension is symbolic (a batch of any size can run at once). */
  dynamicBatch: boolean;
}

async function openTower(path: string, input: string, threads: number, what: string): Promise<Tower> {
  let session: ModelSession;
  try {
    // By path, not a Buffer: onnxruntime reads the file itself, so a 350 MB tower is not also held
    // in the JS heap while the session is built.
    session = await createModelSession(path, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    }, 'clip');
  } catch (err) {
    throw new ClipModelError(`the ${what} model ${path} does not load (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!session.inputNames.includes(input)) {
    throw new ClipModelError(`the ${what} model has no input "${input}" (inputs: ${session.inputNames.join(', ')})`);
  }
  // Immich's exports call it "embedding"; others have one output under another name.
  const output = session.outputNames.includes('embedding') ? 'embedding' : session.outputNames[0];
  const meta = session.inputMetadata.find((m) => m.name === input);
  const first = meta && meta.isTensor ? meta.shape[0] : undefined;
  return { session, output, dynamicBatch: typeof first === 'string' || first === -1 };
}

/**
 * One CLIP-family model: the image tower, the text tower and its tokenizer. Sessions are created
 * on `load()` and shared; embeddings come back L2-normalised, so image-text cosine is a dot product.
 */
export class ClipModel {
  private visual: Promise<Tower> | null = null;
  private textual: Promise<Tower> | null = null;
  private tokenizer: ClipTokenizer | null = null;
  private readonly textCache = new Map<string, Float32Array>();
  private dims = 0;
  readonly threads: number;

  constructor(
    readonly config: ClipConfig,
    readonly paths: ClipModelPaths,
    options: { threads?: number } = {},
  ) {
    this.threads = Math.max(1, Math.floor(options.threads ?? defaultClipThreads()));
  }

  get id(): string {
    return this.config.modelId;
  }

  /** Embedding size (known after load). */
  get dimensions(): number {
    return this.dims;
  }

  /** Loads the tokenizer and both towers, and checks that both give embeddings of one size. */
  async load(): Promise<void> {
    if (!this.tokenizer) this.tokenizer = ClipTokenizer.fromFile(this.paths.tokenizer, { contextLength: this.config.contextLength, padToken: this.config.padToken });
    const [img, txt] = await Promise.all([this.imageTower(), this.textTower()]);
    if (this.dims) return;
    const s = this.config.imageSize;
    const probeImage = await this.runImages(img, new Float32Array(3 * s * s), 1);
    const probeText = await this.runText(txt, this.tokenizer.tokenizeBatch(['a photo']), 1);
    if (probeImage[0].length !== probeText[0].length || probeImage[0].length === 0) {
      throw new ClipModelError(`image and text embeddings differ in size (${probeImage[0].length} vs ${probeText[0].length})`);
    }
    this.dims = probeImage[0].length;
  }

  private imageTower(): Promise<Tower> {
    if (!this.visual) {
      this.visual = openTower(this.paths.visual, this.config.imageInput, this.threads, 'image');
      this.visual.catch(() => (this.visual = null));
    }
    return this.visual;
  }

  private textTower(): Promise<Tower> {
    if (!this.textual) {
      this.textual = openTower(this.paths.textual, this.config.textInput, this.threads, 'text');
      this.textual.catch(() => (this.textual = null));
    }
    return this.textual;
  }

  private async runImages(tower: Tower, batch: Float32Array, n: number): Promise<Float32Array[]> {
    const s = this.config.imageSize;
    const per = 3 * s * s;
    // Fixed-batch exports (MobileCLIP2's [1,3,256,256]) take one image per run.
    if (!tower.dynamicBatch && n > 1) {
      const out: Float32Array[] = [];
      for (let i = 0; i < n; i++) out.push(...(await this.runImages(tower, batch.subarray(i * per, (i + 1) * per), 1)));
      return out;
    }
    const result = await tower.session.run({ [this.config.imageInput]: new ort.Tensor('float32', batch, [n, 3, s, s]) });
    return this.split(result[tower.output], n, 'image');
  }

  private async runText(tower: Tower, ids: Int32Array, n: number): Promise<Float32Array[]> {
    const len = this.config.contextLength;
    if (!tower.dynamicBatch && n > 1) {
      const out: Float32Array[] = [];
      for (let i = 0; i < n; i++) out.push(...(await this.runText(tower, ids.subarray(i * len, (i + 1) * len), 1)));
      return out;
    }
    const tensor =
      this.config.textInputType === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.from(ids, (x) => BigInt(x)), [n, len])
        : new ort.Tensor('int32', ids, [n, len]);
    const result = await tower.session.run({ [this.config.textInput]: tensor });
    return this.split(result[tower.output], n, 'text');
  }

  private split(t: ort.Tensor | undefined, n: number, what: string): Float32Array[] {
    if (!t || t.type !== 'float32' || t.dims.length !== 2 || t.dims[0] !== n) {
      throw new ClipModelError(`the ${what} model gave ${t ? `${t.type} [${t.dims.join(', ')}]` : 'no output'}, expected float32 [${n}, D]`);
    }
    const d = Number(t.dims[1]);
    const data = t.data as Float32Array;
    return Array.from({ length: n }, (_, i) => l2normalise(Float32Array.from(data.subarray(i * d, (i + 1) * d))));
  }

  /** Embeds preprocessed images (each [3, S, S], see preprocess.ts) in one run. */
  async encodeImages(tensors: readonly Float32Array[]): Promise<Float32Array[]> {
    if (tensors.length === 0) return [];
    await this.load();
    const per = 3 * this.config.imageSize * this.config.imageSize;
    const batch = new Float32Array(per * tensors.length);
    tensors.forEach((t, i) => {
      if (t.length !== per) throw new ClipModelError(`image tensor has ${t.length} values, expected ${per}`);
      batch.set(t, i * per);
    });
    return this.runImages(await this.imageTower(), batch, tensors.length);
  }

  /** Embeds one query (cached: the same text is encoded once). */
  async encodeText(text: string): Promise<Float32Array> {
    const key = text.trim();
    const hit = this.textCache.get(key);
    if (hit) {
      this.textCache.delete(key);
      this.textCache.set(key, hit); // most recently used last
      return hit;
    }
    await this.load();
    const [v] = await this.runText(await this.textTower(), this.tokenizer!.tokenizeBatch([key]), 1);
    this.textCache.set(key, v);
    if (this.textCache.size > TEXT_CACHE_SIZE) this.textCache.delete(this.textCache.keys().next().value as string);
    return v;
  }

  /** Whether `encodeText(text)` would be answered from the cache. */
  hasCachedText(text: string): boolean {
    return this.textCache.has(text.trim());
  }

  clearTextCache(): void {
    this.textCache.clear();
  }

  async dispose(): Promise<void> {
    const towers = [this.visual, this.textual];
    this.visual = null;
    this.textual = null;
    for (const t of towers) if (t) await (await t.catch(() => null))?.session.release();
  }
}
