/**
 * ONNX sessions that run in worker threads. onnxruntime-node's `run()` computes on the calling JS
 * thread, so a model running in the sidecar's main thread stalls every RPC (a search typed while
 * images are indexed) for the length of an inference. Each session here lives in its own worker
 * thread; the main thread only posts tensors and awaits results.
 */
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

export type SessionOptions = ort.InferenceSession.SessionOptions;

/** What callers read of a session's inputs (enough to tell a dynamic batch dimension). */
export interface InputInfo {
  name: string;
  isTensor: boolean;
  shape: ReadonlyArray<number | string>;
}

/** The part of `ort.InferenceSession` Loupe uses. */
export interface ModelSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly InputInfo[];
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

interface WireTensor {
  type: ort.Tensor.Type;
  data: ort.Tensor.DataType;
  dims: readonly number[];
}

type Reply = { id: number; sid?: number; error?: string; inputNames?: string[]; outputNames?: string[]; inputMetadata?: InputInfo[]; out?: Record<string, WireTensor> };

// Plain JS so it runs the same from the bundle and from sources; onnxruntime is loaded by path.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const sessions = new Map();
let nextSid = 1;
parentPort.on('message', async (m) => {
  try {
    if (m.type === 'create') {
      const session = await ort.InferenceSession.create(m.model, m.options);
      const sid = nextSid++;
      sessions.set(sid, session);
      const inputMetadata = (session.inputMetadata || []).map((i) => ({ name: i.name, isTensor: !!i.isTensor, shape: i.isTensor ? Array.from(i.shape) : [] }));
      parentPort.postMessage({ id: m.id, sid, inputNames: session.inputNames, outputNames: session.outputNames, inputMetadata });
    } else if (m.type === 'run') {
      const feeds = {};
      for (const [k, t] of Object.entries(m.feeds)) feeds[k] = new ort.Tensor(t.type, t.data, t.dims);
      const out = await sessions.get(m.sid).run(feeds);
      const res = {};
      for (const [k, t] of Object.entries(out)) res[k] = { type: t.type, data: t.data, dims: Array.from(t.dims) };
      parentPort.postMessage({ id: m.id, out: res });
    } else if (m.type === 'release') {
      const session = sessions.get(m.sid);
      sessions.delete(m.sid);
      if (session) await session.release();
      parentPort.postMessage({ id: m.id });
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;

/** One worker thread and the sessions it hosts (models used one after another share one). */
class InferenceWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private dead: Error | null = null;
  sessions = 0;

  constructor(private readonly worker: Worker, onExit: () => void) {
    worker.unref(); // only requests in flight keep the process alive
    worker.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (this.pending.size === 0) worker.unref();
      if (r.error !== undefined) p.reject(new Error(r.error));
      else p.resolve(r);
    });
    const fail = (err: Error) => {
      this.dead = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      onExit();
    };
    worker.on('error', (err) => fail(err instanceof Error ? err : new Error(String(err))));
    worker.on('exit', (code) => fail(new Error(`the inference worker stopped (exit code ${code})`)));
  }

  request(message: Record<string, unknown>): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ ...message, id });
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

const workers = new Map<string, InferenceWorker>();
let anonymous = 0;

function workerFor(group: string): InferenceWorker {
  let w = workers.get(group);
  if (!w) {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath: require.resolve('onnxruntime-node') } });
    const created: InferenceWorker = new InferenceWorker(worker, () => {
      if (workers.get(group) === created) workers.delete(group);
    });
    w = created;
    workers.set(group, w);
  }
  return w;
}

class WorkerSession implements ModelSession {
  constructor(
    private readonly host: InferenceWorker,
    private readonly group: string,
    private readonly sid: number,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    readonly inputMetadata: readonly InputInfo[],
  ) {}

  async run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    const wire: Record<string, WireTensor> = {};
    for (const [k, t] of Object.entries(feeds)) wire[k] = { type: t.type, data: t.data, dims: t.dims };
    const reply = await this.host.request({ type: 'run', sid: this.sid, feeds: wire });
    const out: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(reply.out ?? {})) out[k] = new ort.Tensor(t.type, t.data as Float32Array, t.dims);
    return out;
  }

  async release(): Promise<void> {
    await this.host.request({ type: 'release', sid: this.sid }).catch(() => undefined);
    this.host.sessions--;
    if (this.host.sessions <= 0) {
      if (workers.get(this.group) === this.host) workers.delete(this.group);
      await this.host.terminate();
    }
  }
}

/**
 * Loads a model (a file path, or the bytes of an edited graph) into a session in a worker thread.
 * Sessions of one `group` (models one image goes through in turn, e.g. OCR detection and
 * recognition) share a worker, which saves its memory; without a group a session gets its own.
 */
export async function createModelSession(model: string | Uint8Array, options: SessionOptions, group?: string): Promise<ModelSession> {
  const name = group ?? `session-${++anonymous}`;
  const host = workerFor(name);
  host.sessions++;
  try {
    const created = await host.request({ type: 'create', model, options });
    return new WorkerSession(host, name, created.sid ?? 0, created.inputNames ?? [], created.outputNames ?? [], created.inputMetadata ?? []);
  } catch (err) {
    host.sessions--;
    if (host.sessions <= 0) {
      if (workers.get(name) === host) workers.delete(name);
      await host.terminate();
    }
    throw err;
  }
}
