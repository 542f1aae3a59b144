// Tests for the model resolver (sidecar/models/resolver.ts) and the verified downloader
// (sidecar/models/download.ts). Everything is real: the model files are the real weights in
// /work/shared/models, and downloads go over real HTTP to a local server on 127.0.0.1 that serves
// those files (with Range support) and can misbehave on demand: flip bytes, drop the connection
// half way, ignore Range, or answer 404.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { checkUrlAllowed, DownloadError, downloadVerified, type DownloadProgress } from '../sidecar/models/download';
import { BUILTIN_MANIFEST, type ModelFile, type ModelManifest } from '../sidecar/models/manifest';
import { ModelError, ModelResolver } from '../sidecar/models/resolver';

const SHARED_MODELS = '/work/shared/models';

// Small model for most tests, a bigger one where several progress events are wanted.
const SMALL_ID = 'yunet';
const BIG_ID = 'mobilefacenet';

// ---------------------------------------------------------------------------------------------
// helpers

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function sha256OfPath(path: string): Promise<string> {
  return sha256(await fsp.readFile(path));
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await fsp.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await fsp.stat(path)).size;
  } catch {
    return -1;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The builtin manifest with every url pointing at `baseUrl`/models/<path>. */
function localManifest(baseUrl: string): ModelManifest {
  const m = structuredClone(BUILTIN_MANIFEST);
  for (const entry of m.models) for (const f of entry.files) f.url = `${baseUrl}/models/${f.path}`;
  return m;
}

/** A manifest file whose size, sha256 and address are pinned (every non-CLIP model's are). */
type PinnedFile = ModelFile & { size: number; sha256: string; url: string };

function firstFile(manifest: ModelManifest, id: string): PinnedFile {
  const entry = manifest.models.find((e) => e.id === id);
  assert.ok(entry, `manifest has ${id}`);
  const f = entry.files[0];
  assert.ok(f && f.size !== null && f.sha256 !== null && f.url !== null, `${id} has a pinned file`);
  return f as PinnedFile;
}

/** Runs `fn`, expecting a ModelError, and returns it. */
async function expectModelError(fn: () => Promise<unknown>): Promise<ModelError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ModelError, `expected a ModelError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ModelError, but the call succeeded');
}

// ---------------------------------------------------------------------------------------------
// the local model server

type Mode =
  | 'normal'
  /** flips bytes in every body (same length) */
  | 'corrupt'
  /** first request: sends half the file then drops the connection; later requests are normal */
  | 'cut-first'
  /** every request: sends half of what was asked for, then drops the connection */
  | 'cut-always'
  /** always 200 with the whole file, whatever the Range header says */
  | 'ignore-range'
  /** always 404 */
  | 'not-found';

interface LoggedRequest {
  path: string;
  range: string | null;
  status: number;
  /** body bytes actually written */
  bytesSent: number;
}

class ModelServer {
  mode: Mode = 'normal';
  readonly requests: LoggedRequest[] = [];
  /**
   * When cutting a transfer, wait until this file (the downloader's `.part`) holds every byte sent
   * before dropping the connection, so the resume point is exact rather than racy.
   */
  cutWatch: string | null = null;
  private server: Server | null = null;
  private readonly files = new Map<string, Buffer>();
  baseUrl = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${addr.port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  reset(): void {
    this.mode = 'normal';
    this.requests.length = 0;
    this.cutWatch = null;
  }

  private load(rel: string): Buffer | null {
    const clean = normalize(rel);
    if (clean.startsWith('..') || clean.startsWith(sep)) return null;
    let buf = this.files.get(clean);
    if (!buf) {
      try {
        buf = readFileSync(join(SHARED_MODELS, clean));
      } catch {
        return null;
      }
      this.files.set(clean, buf);
    }
    return buf;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', this.baseUrl).pathname;
    const range = req.headers.range ?? null;
    const log: LoggedRequest = { path, range, status: 0, bytesSent: 0 };
    this.requests.push(log);
    const isFirst = this.requests.length === 1;

    const whole = path.startsWith('/models/') ? this.load(decodeURIComponent(path.slice('/models/'.length))) : null;
    if (!whole || this.mode === 'not-found') {
      log.status = 404;
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }

    let start = 0;
    const m = range && this.mode !== 'ignore-range' ? /^bytes=(\d+)-$/.exec(range) : null;
    if (m) start = Number(m[1]);
    if (m && start >= whole.length) {
      log.status = 416;
      res.writeHead(416, { 'Content-Range': `bytes */${whole.length}` });
      res.end();
      return;
    }
    let body = whole.subarray(start);
    if (this.mode === 'corrupt') {
      body = Buffer.from(body);
      for (const i of [0, Math.floor(body.length / 3), Math.floor(body.length / 2), body.length - 1]) body[i] ^= 0xff;
    }
    log.status = m ? 206 : 200;
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Content-Length': body.length,
      'Accept-Ranges': this.mode === 'ignore-range' ? 'none' : 'bytes',
    };
    if (m) headers['Content-Range'] = `bytes ${start}-${whole.length - 1}/${whole.length}`;
    res.writeHead(log.status, headers);

    const cut = this.mode === 'cut-always' || (this.mode === 'cut-first' && isFirst);
    if (!cut) {
      log.bytesSent = body.length;
      res.end(body);
      return;
    }
    // Send half of the body, let the client store it, then drop the connection mid-transfer.
    const half = Math.floor(body.length / 2);
    await new Promise<void>((resolve, reject) => res.write(body.subarray(0, half), (err) => (err ? reject(err) : resolve())));
    log.bytesSent = half;
    if (this.cutWatch) {
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && (await fileSize(this.cutWatch)) < start + half) await sleep(5);
    } else {
      await sleep(100);
    }
    req.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------

const server = new ModelServer();
let tmp = '';
let cacheDir = '';
let manifest: ModelManifest;

before(async () => {
  await server.start();
  manifest = localManifest(server.baseUrl);
});

after(async () => {
  await server.stop();
});

beforeEach(async () => {
  server.reset();
  tmp = await fsp.mkdtemp(join(tmpdir(), 'loupe-models-test-'));
  cacheDir = join(tmp, 'cache');
});

afterEach(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

describe('resolution order', () => {
  it('uses the configured models folder first, without any network request', async () => {
    const resolver = new ModelResolver({ manifest, modelsDir: SHARED_MODELS, cacheDir });
    // ../shared/models holds every model except the opt-in CLIP ones (no CLIP weights exist here).
    for (const entry of manifest.models.filter((e) => !e.optIn)) {
      const file = firstFile(manifest, entry.id);
      const p = await resolver.resolveFile(entry.id);
      assert.equal(p, join(SHARED_MODELS, file.path));
    }
    // resolve() gives every file of a model keyed by its manifest path
    const all = await resolver.resolve(SMALL_ID);
    const small = firstFile(manifest, SMALL_ID);
    assert.deepEqual(all, { [small.path]: join(SHARED_MODELS, small.path) });
    assert.equal(server.requests.length, 0);
    assert.equal(await fileExists(cacheDir), false, 'nothing is written to the cache');
  });

  it('uses a file already in the cache when no models folder is configured', async () => {
    const file = firstFile(manifest, SMALL_ID);
    const cached = join(cacheDir, file.path);
    await fsp.mkdir(dirname(cached), { recursive: true });
    await fsp.copyFile(join(SHARED_MODELS, file.path), cached);

    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    assert.equal(await resolver.resolveFile(SMALL_ID), cached);
    assert.equal(await resolver.resolveFile(SMALL_ID, file.path), cached);
    assert.equal(server.requests.length, 0);
  });

  it('falls through to the cache when the configured folder lacks the file', async () => {
    const emptyModels = join(tmp, 'empty-models');
    await fsp.mkdir(emptyModels, { recursive: true });
    const resolver = new ModelResolver({ manifest, modelsDir: emptyModels, cacheDir });
    const file = firstFile(manifest, SMALL_ID);
    const p = await resolver.resolveFile(SMALL_ID);
    assert.equal(p, join(cacheDir, file.path));
    assert.equal(await sha256OfPath(p), file.sha256);
    assert.equal(server.requests.length, 1);
  });

  it('downloads a missing file into the cache, verified, reporting progress', async () => {
    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    const file = firstFile(manifest, BIG_ID);
    const events: Array<{ file: ModelFile; p: DownloadProgress }> = [];
    const p = await resolver.resolveFile(BIG_ID, undefined, { onProgress: (f, progress) => events.push({ file: f, p: { ...progress } }) });

    const target = join(cacheDir, file.path);
    assert.equal(p, target);
    assert.equal(await sha256OfPath(p), file.sha256);
    assert.equal((await fsp.stat(p)).size, file.size);
    assert.equal(await fileExists(`${target}.part`), false, 'no .part left behind');

    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].path, `/models/${file.path}`);
    assert.equal(server.requests[0].range, null, 'a fresh download asks for the whole file');

    assert.ok(events.length >= 2, `several progress events (got ${events.length})`);
    for (const e of events) {
      assert.equal(e.file.path, file.path);
      assert.equal(e.p.total, file.size);
    }
    for (let i = 1; i < events.length; i++) assert.ok(events[i].p.received > events[i - 1].p.received, 'received only grows');
    assert.equal(events[events.length - 1].p.received, file.size);

    // A second resolve uses the verified cache and does not download again.
    const again = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    assert.equal(await again.resolveFile(BIG_ID), target);
    assert.equal(server.requests.length, 1);
  });

  it('reads LOUPE_MODELS_DIR when no modelsDir option is given', async () => {
    const saved = process.env.LOUPE_MODELS_DIR;
    process.env.LOUPE_MODELS_DIR = SHARED_MODELS;
    try {
      const resolver = new ModelResolver({ manifest, cacheDir });
      assert.equal(resolver.modelsDir, SHARED_MODELS);
      const file = firstFile(manifest, SMALL_ID);
      assert.equal(await resolver.resolveFile(SMALL_ID), join(SHARED_MODELS, file.path));
      assert.equal(server.requests.length, 0);
    } finally {
      if (saved === undefined) delete process.env.LOUPE_MODELS_DIR;
      else process.env.LOUPE_MODELS_DIR = saved;
    }
  });

  it('rejects unknown models and unknown files with a ModelError', async () => {
    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    const e1 = await expectModelError(() => resolver.resolveFile('no-such-model'));
    assert.match(e1.message, /no-such-model/);
    assert.match(e1.message, new RegExp(SMALL_ID), 'lists the known models');
    const e2 = await expectModelError(() => resolver.resolveFile(SMALL_ID, 'face/nope.onnx'));
    assert.match(e2.message, /face\/nope\.onnx/);
    assert.equal(server.requests.length, 0);
  });
});

describe('damaged downloads', () => {
  it('a corrupted transfer is rejected with a clear error and leaves nothing behind', async () => {
    server.mode = 'corrupt';
    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    const file = firstFile(manifest, SMALL_ID);
    const target = join(cacheDir, file.path);

    const err = await expectModelError(() => resolver.resolveFile(SMALL_ID));
    assert.match(err.message, new RegExp(`"${SMALL_ID}"`), 'names the model');
    assert.ok(err.message.includes(file.sha256), 'names the expected sha256');
    assert.match(err.message, /sha256 mismatch/);
    assert.ok(err.message.includes('LOUPE_MODELS_DIR'), 'says how to point at a folder by hand');
    assert.ok(err.message.includes(target), 'says where to save the file by hand');
    assert.ok(err.message.includes(file.url), 'says where to get the file');

    assert.equal(await fileExists(target), false, 'no file at the target');
    assert.equal(await fileExists(`${target}.part`), false, 'no .part left');
    assert.equal(server.requests.length, 1, 'a hash mismatch is not retried in a loop');

    // Once the source is good again, the same resolver succeeds.
    server.mode = 'normal';
    assert.equal(await resolver.resolveFile(SMALL_ID), target);
    assert.equal(await sha256OfPath(target), file.sha256);
  });

  it('HTTP 404 gives a ModelError mentioning the status', async () => {
    server.mode = 'not-found';
    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    const file = firstFile(manifest, SMALL_ID);
    const err = await expectModelError(() => resolver.resolveFile(SMALL_ID));
    assert.match(err.message, /HTTP 404/);
    assert.match(err.message, new RegExp(`"${SMALL_ID}"`));
    assert.ok(err.message.includes('LOUPE_MODELS_DIR'));
    assert.equal(server.requests.length, 1, 'a 404 is not retried');
    assert.equal(await fileExists(join(cacheDir, file.path)), false);
    assert.equal(await fileExists(join(cacheDir, `${file.path}.part`)), false);
  });

  it('a URL nobody serves (unknown path) also reports HTTP 404', async () => {
    const m = structuredClone(manifest);
    firstFile(m, SMALL_ID).url = `${server.baseUrl}/models/face/does-not-exist.onnx`;
    const resolver = new ModelResolver({ manifest: m, modelsDir: null, cacheDir });
    const err = await expectModelError(() => resolver.resolveFile(SMALL_ID));
    assert.match(err.message, /HTTP 404/);
  });
});

describe('resumed downloads', () => {
  it('retries by itself after a dropped connection, resuming with a Range request', async () => {
    const file = firstFile(manifest, SMALL_ID);
    const target = join(cacheDir, file.path);
    server.mode = 'cut-first';
    server.cutWatch = `${target}.part`;
    const half = Math.floor(file.size / 2);

    const received: number[] = [];
    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    const p = await resolver.resolveFile(SMALL_ID, undefined, { onProgress: (_f, pr) => received.push(pr.received) });

    assert.equal(p, target);
    assert.equal(await sha256OfPath(p), file.sha256);
    assert.equal(await fileExists(`${target}.part`), false);

    assert.equal(server.requests.length, 2, 'one dropped transfer, one resumed transfer');
    assert.equal(server.requests[0].range, null);
    assert.equal(server.requests[0].bytesSent, half);
    assert.equal(server.requests[1].range, `bytes=${half}-`, 'the retry asks only for the missing bytes');
    assert.equal(server.requests[1].status, 206);
    assert.equal(server.requests[1].bytesSent, file.size - half);
    assert.equal(received[received.length - 1], file.size);
  });

  it('resumes a .part left by an earlier process, fetching only the remaining bytes', async () => {
    const file = firstFile(manifest, BIG_ID);
    const target = join(cacheDir, file.path);
    const whole = await fsp.readFile(join(SHARED_MODELS, file.path));
    const half = Math.floor(whole.length / 2);
    await fsp.mkdir(dirname(target), { recursive: true });
    await fsp.writeFile(`${target}.part`, whole.subarray(0, half));

    const events: DownloadProgress[] = [];
    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    const p = await resolver.resolveFile(BIG_ID, undefined, { onProgress: (_f, pr) => events.push({ ...pr }) });

    assert.equal(p, target);
    assert.equal(await sha256OfPath(p), file.sha256);
    assert.equal(await fileExists(`${target}.part`), false);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].range, `bytes=${half}-`);
    assert.equal(server.requests[0].status, 206);
    assert.equal(server.requests[0].bytesSent, whole.length - half);
    assert.ok(events.length > 0);
    assert.ok(events[0].received > half, 'progress counts the bytes already on disk');
    for (const e of events) assert.equal(e.total, file.size);
    assert.equal(events[events.length - 1].received, file.size);
  });

  it('a complete .part (server answers 416) is verified and moved into place', async () => {
    const file = firstFile(manifest, SMALL_ID);
    const target = join(cacheDir, file.path);
    await fsp.mkdir(dirname(target), { recursive: true });
    await fsp.copyFile(join(SHARED_MODELS, file.path), `${target}.part`);

    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    assert.equal(await resolver.resolveFile(SMALL_ID), target);
    assert.equal(await sha256OfPath(target), file.sha256);
    assert.equal(await fileExists(`${target}.part`), false);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].range, `bytes=${file.size}-`);
    assert.equal(server.requests[0].status, 416);
  });

  it('a .part longer than the file is discarded and the file downloaded afresh', async () => {
    const file = firstFile(manifest, SMALL_ID);
    const target = join(cacheDir, file.path);
    await fsp.mkdir(dirname(target), { recursive: true });
    await fsp.writeFile(`${target}.part`, Buffer.alloc(file.size + 10, 7));

    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    assert.equal(await resolver.resolveFile(SMALL_ID), target);
    assert.equal(await sha256OfPath(target), file.sha256);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].range, null);
  });

  it('a server that ignores Range still ends with a correct file', async () => {
    server.mode = 'ignore-range';
    const file = firstFile(manifest, SMALL_ID);
    const target = join(cacheDir, file.path);
    const whole = await fsp.readFile(join(SHARED_MODELS, file.path));
    const half = Math.floor(whole.length / 2);
    await fsp.mkdir(dirname(target), { recursive: true });
    await fsp.writeFile(`${target}.part`, whole.subarray(0, half));

    const events: DownloadProgress[] = [];
    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    const p = await resolver.resolveFile(SMALL_ID, undefined, { onProgress: (_f, pr) => events.push({ ...pr }) });

    assert.equal(p, target);
    assert.equal((await fsp.stat(p)).size, file.size, 'the full body replaced the partial file, not appended to it');
    assert.equal(await sha256OfPath(p), file.sha256);
    assert.equal(await fileExists(`${target}.part`), false);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].range, `bytes=${half}-`, 'the resolver did ask to resume');
    assert.equal(server.requests[0].status, 200);
    for (const e of events) assert.equal(e.total, file.size);
    assert.equal(events[events.length - 1].received, file.size);
  });

  it('when every attempt is cut, fails after the set attempts but keeps the partial file for later', async () => {
    const file = firstFile(manifest, SMALL_ID);
    const target = join(tmp, 'direct', 'model.onnx');
    server.mode = 'cut-always';
    server.cutWatch = `${target}.part`;

    await assert.rejects(
      downloadVerified({ url: file.url, target, expectedSha256: file.sha256, expectedSize: file.size, attempts: 2 }),
      (err: unknown) => err instanceof DownloadError && err.kind === 'network' && /after 2 attempts/.test(err.message),
    );
    assert.equal(server.requests.length, 2);
    const first = Math.floor(file.size / 2);
    assert.equal(server.requests[1].range, `bytes=${first}-`);
    const kept = await fileSize(`${target}.part`);
    assert.equal(kept, first + Math.floor((file.size - first) / 2), 'the partial file holds every byte received');
    assert.equal(await fileExists(target), false);

    // A later run picks up where the last one stopped.
    server.mode = 'normal';
    await downloadVerified({ url: file.url, target, expectedSha256: file.sha256, expectedSize: file.size });
    assert.equal(server.requests[2].range, `bytes=${kept}-`);
    assert.equal(await sha256OfPath(target), file.sha256);
    assert.equal(await fileExists(`${target}.part`), false);
  });
});

describe('concurrent calls', () => {
  it('several calls for one missing file share a single verified download', async () => {
    const file = firstFile(manifest, BIG_ID);
    const target = join(cacheDir, file.path);
    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    // Hash what each caller sees at the moment its promise settles: it must already be the real file.
    const seen = await Promise.all(
      [1, 2, 3].map(async () => {
        const p = await resolver.resolveFile(BIG_ID);
        return { p, sha: await sha256OfPath(p) };
      }),
    );
    for (const s of seen) assert.deepEqual(s, { p: target, sha: file.sha256 });
    assert.equal(server.requests.length, 1, 'one download, not three');
    assert.equal(await fileExists(`${target}.part`), false);
  });

  it("one caller aborting does not fail another caller's request for the same file", async () => {
    const file = firstFile(manifest, BIG_ID);
    const target = join(cacheDir, file.path);
    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    const ac = new AbortController();
    const aborted = resolver.resolveFile(BIG_ID, undefined, { signal: ac.signal, onProgress: () => ac.abort() });
    const other = resolver.resolveFile(BIG_ID);
    await assert.rejects(aborted, ModelError);
    assert.equal(await other, target);
    assert.equal(await sha256OfPath(target), file.sha256);
    assert.equal(await fileExists(`${target}.part`), false);
  });
});

describe('files with the wrong content', () => {
  it('a wrong file in the configured folder gives a clear error and is not silently replaced', async () => {
    const file = firstFile(manifest, SMALL_ID);
    const modelsDir = join(tmp, 'models');
    const bad = join(modelsDir, file.path);
    await fsp.mkdir(dirname(bad), { recursive: true });
    // Same size, one byte different: the hash check, not only the size check, must catch it.
    const content = await fsp.readFile(join(SHARED_MODELS, file.path));
    content[1234] ^= 0x01;
    await fsp.writeFile(bad, content);

    const resolver = new ModelResolver({ manifest, modelsDir, cacheDir });
    const err = await expectModelError(() => resolver.resolveFile(SMALL_ID));
    assert.match(err.message, new RegExp(`"${SMALL_ID}"`), 'names the model');
    assert.ok(err.message.includes(bad), 'names the offending file');
    assert.ok(err.message.includes(file.sha256), 'names the expected sha256');
    assert.ok(err.message.includes('LOUPE_MODELS_DIR'), 'says how to fix it');
    assert.ok(err.message.includes(file.url), 'says where to get a good copy');
    assert.equal(server.requests.length, 0);
    assert.deepEqual(await fsp.readFile(bad), content, "the user's file is left alone");

    // A file of the wrong size is caught too.
    await fsp.writeFile(bad, 'not a model');
    const err2 = await expectModelError(() => resolver.resolveFile(SMALL_ID));
    assert.ok(err2.message.includes(file.sha256));
  });

  it('a damaged cache file is replaced by a fresh download', async () => {
    const file = firstFile(manifest, SMALL_ID);
    const cached = join(cacheDir, file.path);
    await fsp.mkdir(dirname(cached), { recursive: true });
    await fsp.writeFile(cached, Buffer.alloc(file.size, 0));

    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    assert.equal(await resolver.resolveFile(SMALL_ID), cached);
    assert.equal(await sha256OfPath(cached), file.sha256);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].range, null);
  });

  it('a cache file changed after it was verified is checked again', async () => {
    const file = firstFile(manifest, SMALL_ID);
    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    const p = await resolver.resolveFile(SMALL_ID);
    assert.equal(server.requests.length, 1);
    // Damage it in place (same size); a later mtime makes the remembered verification stale.
    const content = await fsp.readFile(p);
    content[10] ^= 0xff;
    await fsp.writeFile(p, content);
    const later = new Date(Date.now() + 5000);
    await fsp.utimes(p, later, later);

    assert.equal(await resolver.resolveFile(SMALL_ID), p);
    assert.equal(await sha256OfPath(p), file.sha256);
    assert.equal(server.requests.length, 2);
  });
});

describe('download policy', () => {
  it('download: false with a missing model says to run `loupe models fetch <id>`', async () => {
    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    const file = firstFile(manifest, SMALL_ID);
    const err = await expectModelError(() => resolver.resolveFile(SMALL_ID, undefined, { download: false }));
    assert.ok(err.message.includes(`loupe models fetch ${SMALL_ID}`), err.message);
    assert.ok(err.message.includes('LOUPE_MODELS_DIR'));
    assert.ok(err.message.includes(join(cacheDir, file.path)));
    assert.equal(server.requests.length, 0);
    assert.equal(await fileExists(join(cacheDir, file.path)), false);
  });

  it('download: false still returns files that are present', async () => {
    const resolver = new ModelResolver({ manifest, modelsDir: SHARED_MODELS, cacheDir });
    const file = firstFile(manifest, SMALL_ID);
    assert.equal(await resolver.resolveFile(SMALL_ID, undefined, { download: false }), join(SHARED_MODELS, file.path));
  });

  it('refuses plain HTTP to a non-loopback host before touching the network', async () => {
    const m = structuredClone(manifest);
    firstFile(m, SMALL_ID).url = 'http://example.com/x';
    const resolver = new ModelResolver({ manifest: m, modelsDir: null, cacheDir });

    const realFetch = globalThis.fetch;
    const attempted: string[] = [];
    globalThis.fetch = ((input: Parameters<typeof fetch>[0]) => {
      attempted.push(String(input instanceof Request ? input.url : input));
      return Promise.reject(new TypeError('network access attempted in test'));
    }) as typeof fetch;
    let err: ModelError;
    try {
      err = await expectModelError(() => resolver.resolveFile(SMALL_ID));
    } finally {
      globalThis.fetch = realFetch;
    }
    assert.deepEqual(attempted, [], 'no request was made');
    assert.match(err.message, /HTTPS/);
    assert.match(err.message, /example\.com/);
    assert.equal(server.requests.length, 0);
    assert.equal(await fileExists(join(cacheDir, firstFile(m, SMALL_ID).path)), false);
  });

  it('checkUrlAllowed: HTTPS anywhere, plain HTTP only on this machine', () => {
    for (const ok of ['https://github.com/x.onnx', 'http://127.0.0.1:8080/x', 'http://localhost/x', 'http://[::1]:9/x']) {
      assert.doesNotThrow(() => checkUrlAllowed(ok), ok);
    }
    for (const bad of ['http://example.com/x', 'http://127.0.0.1.example.com/x', 'http://localhost.example.com/x', 'ftp://example.com/x', 'file:///etc/passwd']) {
      assert.throws(
        () => checkUrlAllowed(bad),
        (e: unknown) => e instanceof DownloadError && e.kind === 'insecure' && /HTTPS/.test(e.message),
        bad,
      );
    }
  });
});

describe('verify() and locate()', () => {
  it('verify() reports the shared model files as verified', async () => {
    const resolver = new ModelResolver({ manifest, modelsDir: SHARED_MODELS, cacheDir });
    for (const entry of manifest.models.filter((e) => !e.optIn)) {
      const statuses = await resolver.verify(entry.id);
      assert.equal(statuses.length, entry.files.length);
      for (const [i, s] of statuses.entries()) {
        assert.equal(s.modelId, entry.id);
        assert.equal(s.path, entry.files[i].path);
        assert.equal(s.location, 'configured');
        assert.equal(s.absPath, join(SHARED_MODELS, entry.files[i].path));
        assert.equal(s.verified, true, `${entry.id} verifies`);
        assert.equal(s.problem, undefined);
      }
    }
    assert.equal(server.requests.length, 0);
  });

  it('verify() reports a missing file and a damaged file as problems, with how to fix them', async () => {
    const resolver = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    const file = firstFile(manifest, SMALL_ID);
    const [missing] = await resolver.verify(SMALL_ID);
    assert.equal(missing.location, 'missing');
    assert.equal(missing.absPath, null);
    assert.equal(missing.verified, false);
    assert.ok(missing.problem);
    assert.match(missing.problem, /missing/);
    assert.ok(missing.problem.includes('LOUPE_MODELS_DIR'));
    assert.ok(missing.problem.includes(file.sha256));

    const cached = join(cacheDir, file.path);
    await fsp.mkdir(dirname(cached), { recursive: true });
    await fsp.writeFile(cached, 'garbage');
    const [damaged] = await resolver.verify(SMALL_ID);
    assert.equal(damaged.location, 'cache');
    assert.equal(damaged.absPath, cached);
    assert.equal(damaged.verified, false);
    assert.ok(damaged.problem?.includes(file.sha256));
    assert.equal(server.requests.length, 0, 'verify never downloads');
  });

  it('locate() tells configured, cache and missing apart', async () => {
    const file = firstFile(manifest, SMALL_ID);

    const configured = await new ModelResolver({ manifest, modelsDir: SHARED_MODELS, cacheDir }).locate(SMALL_ID);
    assert.deepEqual(configured, [{ modelId: SMALL_ID, path: file.path, location: 'configured', absPath: join(SHARED_MODELS, file.path) }]);

    const noFolder = new ModelResolver({ manifest, modelsDir: null, cacheDir });
    assert.deepEqual(await noFolder.locate(SMALL_ID), [{ modelId: SMALL_ID, path: file.path, location: 'missing', absPath: null }]);

    const cached = join(cacheDir, file.path);
    await fsp.mkdir(dirname(cached), { recursive: true });
    await fsp.copyFile(join(SHARED_MODELS, file.path), cached);
    assert.deepEqual(await noFolder.locate(SMALL_ID), [{ modelId: SMALL_ID, path: file.path, location: 'cache', absPath: cached }]);

    // list() covers every model in the manifest
    const listed = await noFolder.list();
    assert.deepEqual(
      listed.map((l) => l.entry.id),
      manifest.models.map((e) => e.id),
    );
    const smallListed = listed.find((l) => l.entry.id === SMALL_ID);
    assert.equal(smallListed?.files[0].location, 'cache');
    assert.equal(server.requests.length, 0);
  });
});
