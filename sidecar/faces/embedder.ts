import * as ort from 'onnxruntime-node';
import type { ModelSession } from '../inference/model-session';
import { ALIGNED_SIZE } from './align';
import { FaceModelError, LazySession, defaultIntraOpThreads } from './onnx';

/** Manifest id of the face embedder. */
export const MOBILEFACENET_MODEL_ID = 'mobilefacenet';
export const EMBEDDING_DIM = 128;

/** L2-normalises in place; returns the original norm. */
export function l2normalize(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= n;
  return n;
}

/**
 * MobileFaceNet: an aligned 112x112 RGB face -> 128-d identity embedding, L2-normalised (cosine =
 * dot product). Input (x - 127.5) / 128 per channel, NCHW. One session, created on first use.
 */
export class FaceEmbedder {
  private readonly lazy: LazySession;

  constructor(
    readonly modelPath: string,
    intraOpThreads = defaultIntraOpThreads(),
  ) {
    this.lazy = new LazySession(modelPath, intraOpThreads, 'faces', async (session) => {
      const probe = await session.run({
        [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(3 * ALIGNED_SIZE * ALIGNED_SIZE), [1, 3, ALIGNED_SIZE, ALIGNED_SIZE]),
      });
      const out = probe[session.outputNames[0]];
      if (out.data.length !== EMBEDDING_DIM) throw new FaceModelError(`${modelPath}: expected a ${EMBEDDING_DIM}-d output, got ${out.dims.join('x')}`);
    });
  }

  load(): Promise<ModelSession> {
    return this.lazy.get();
  }

  dispose(): Promise<void> {
    return this.lazy.dispose();
  }

  /** Embeds one aligned crop (packed RGB, 112x112). */
  async embed(crop: Buffer): Promise<Float32Array> {
    const plane = ALIGNED_SIZE * ALIGNED_SIZE;
    if (crop.length !== plane * 3) throw new Error(`aligned crop is ${crop.length} bytes, expected ${plane * 3}`);
    const input = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      input[i] = (crop[i * 3] - 127.5) / 128;
      input[plane + i] = (crop[i * 3 + 1] - 127.5) / 128;
      input[2 * plane + i] = (crop[i * 3 + 2] - 127.5) / 128;
    }
    const session = await this.lazy.get();
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, ALIGNED_SIZE, ALIGNED_SIZE]) });
    const v = Float32Array.from(out[session.outputNames[0]].data as Float32Array);
    l2normalize(v);
    return v;
  }
}
