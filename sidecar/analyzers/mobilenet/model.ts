import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { createModelSession, type ModelSession } from '../../inference/model-session';
import { CLASS_COUNT, EMBEDDING_DIM, EMBEDDING_OUTPUT, LOGITS_OUTPUT, ModelGraphError, withEmbeddingOutput } from './graph';
import { INPUT_SIZE } from './preprocess';
import { topIndices } from '../../util/top-k';

/** Manifest id of the int8 MobileNetV2 classifier. */
export const MOBILENET_MODEL_ID = 'mobilenetv2-int8';

export interface MobileNetOptions {
  /**
   * onnxruntime intra-op threads for this session. Default: LOUPE_INTRA_OP_THREADS, else 1
   * (several images are in flight at once; one thread each keeps the machine responsive).
   */
  intraOpThreads?: number;
}

export interface MobileNetOutput {
  /** Softmax over the 1000 ImageNet-1k classes (model output order = sorted WordNet ids). */
  probabilities: Float32Array;
  /** The 1280-d global-average-pool activation (dequantized, non-negative). */
  embedding: Float32Array;
}

export function defaultIntraOpThreads(): number {
  const env = Number.parseInt(process.env.LOUPE_INTRA_OP_THREADS ?? '', 10);
  return Number.isFinite(env) && env > 0 ? env : 1;
}

export function softmax(logits: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export const topK = topIndices;

/**
 * The int8 MobileNetV2 with its global-pool embedding exposed as a second output. One
 * onnxruntime session, created on first use and shared by every caller.
 * The session runs in its own worker thread (see inference/model-session), so images indexed "in
 * parallel" take turns here while decoding, resizing and other models overlap.
 */
export class MobileNet {
  private session: Promise<ModelSession> | null = null;
  readonly intraOpThreads: number;

  constructor(
    readonly modelPath: string,
    options: MobileNetOptions = {},
  ) {
    this.intraOpThreads = Math.max(1, Math.floor(options.intraOpThreads ?? defaultIntraOpThreads()));
  }

  /** Creates the session (once). Rejects with a clear message if the file is not the expected graph. */
  load(): Promise<ModelSession> {
    if (!this.session) {
      this.session = this.createSession();
      this.session.catch(() => (this.session = null)); // a later call may try again
    }
    return this.session;
  }

  private async createSession(): Promise<ModelSession> {
    const edited = withEmbeddingOutput(await readFile(this.modelPath));
    const session = await createModelSession(edited, {
      intraOpNumThreads: this.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    }, 'tags');
    for (const name of [LOGITS_OUTPUT, EMBEDDING_OUTPUT]) {
      if (!session.outputNames.includes(name)) throw new ModelGraphError(`the edited model has no output "${name}"`);
    }
    // Check the shapes once on a blank image: [1, 1000] logits and [1, 1280] embedding.
    const probe = await this.runSession(session, new Float32Array(3 * INPUT_SIZE * INPUT_SIZE));
    if (probe.logits.length !== CLASS_COUNT || probe.embedding.length !== EMBEDDING_DIM) {
      throw new ModelGraphError(`unexpected output sizes: ${probe.logits.length} logits, ${probe.embedding.length}-d embedding`);
    }
    return session;
  }

  private async runSession(session: ModelSession, input: Float32Array): Promise<{ logits: Float32Array; embedding: Float32Array }> {
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, INPUT_SIZE, INPUT_SIZE]) };
    const out = await session.run(feeds);
    const logits = out[LOGITS_OUTPUT];
    const embedding = out[EMBEDDING_OUTPUT];
    const dims = (t: ort.Tensor) => t.dims.join('x');
    if (dims(logits) !== `1x${CLASS_COUNT}` || dims(embedding) !== `1x${EMBEDDING_DIM}`) {
      throw new ModelGraphError(`unexpected output shapes: logits ${dims(logits)}, embedding ${dims(embedding)}`);
    }
    return { logits: logits.data as Float32Array, embedding: embedding.data as Float32Array };
  }

  /** Runs one preprocessed image ([1, 3, 224, 224] NCHW float32, see preprocess.ts). */
  async infer(input: Float32Array): Promise<MobileNetOutput> {
    const session = await this.load();
    const { logits, embedding } = await this.runSession(session, input);
    return { probabilities: softmax(logits), embedding: Float32Array.from(embedding) };
  }

  async dispose(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session) await (await session.catch(() => null))?.release();
  }
}

const shared = new Map<string, MobileNet>();

/** One MobileNet (one session) per model file and thread count, for the whole process. */
export function sharedMobileNet(modelPath: string, options: MobileNetOptions = {}): MobileNet {
  const threads = Math.max(1, Math.floor(options.intraOpThreads ?? defaultIntraOpThreads()));
  const key = `${modelPath}\u0000${threads}`;
  let model = shared.get(key);
  if (!model) {
    model = new MobileNet(modelPath, { intraOpThreads: threads });
    shared.set(key, model);
  }
  return model;
}
