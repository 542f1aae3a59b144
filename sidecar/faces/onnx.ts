import { createModelSession, type ModelSession } from '../inference/model-session';

/**
 * onnxruntime intra-op threads for the face sessions. Default: LOUPE_INTRA_OP_THREADS, else 1
 * (several images are in flight at once; one thread each keeps the machine responsive).
 */
export function defaultIntraOpThreads(): number {
  const env = Number.parseInt(process.env.LOUPE_INTRA_OP_THREADS ?? '', 10);
  return Number.isFinite(env) && env > 0 ? env : 1;
}

/** One lazily created session over a model file; a failed load can be retried by a later call. */
export class LazySession {
  private session: Promise<ModelSession> | null = null;

  constructor(
    readonly modelPath: string,
    readonly intraOpThreads: number,
    /** Models an image goes through in turn share a worker thread (see createModelSession). */
    private readonly group: string,
    private readonly check: (session: ModelSession) => Promise<void>,
  ) {}

  get(): Promise<ModelSession> {
    if (!this.session) {
      this.session = this.create();
      this.session.catch(() => (this.session = null));
    }
    return this.session;
  }

  private async create(): Promise<ModelSession> {
    const session = await createModelSession(this.modelPath, {
      intraOpNumThreads: this.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    }, this.group);
    try {
      await this.check(session);
    } catch (err) {
      await session.release();
      throw err;
    }
    return session;
  }

  async dispose(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session) await (await session.catch(() => null))?.release();
  }
}

export class FaceModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaceModelError';
  }
}
