// Semantic search end to end, through the real sidecar and the real CLI: a generated CLIP-layout
// model (no CLIP weights exist here) is downloaded from a local HTTP server with progress and sha256
// checks, the images are embedded by the index run, and "red" finds the red images by colour
// (tokenizer -> text tower -> USearch -> RRF with the file-name signal -> RPC), with a relevance cut.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource, ProgressType, ResponseError } from 'vscode-jsonrpc';
import { connectToSidecar, type SidecarConnection } from '../sidecar/client/connect';
import {
  IndexStatusRequest,
  InitializeRequest,
  LoupeErrorCodes,
  SearchRequest,
  SemanticEnableRequest,
  SemanticStatusRequest,
  SimilarRequest,
  type SearchResponse,
} from '../sidecar/protocol';
import type { ModelManifest } from '../sidecar/models/manifest';
import { generateColourClip, COLOUR_MODEL_ID } from './helpers/clip-models';
import { makeColourLibrary, RED_FILES, serveFolder } from './helpers/colour-library';
import { CLI, REPO, runCli } from './helpers/cli';
import { startSidecar, waitFor, type RunningSidecar } from './helpers/sidecar';
import { tempDir } from './helpers/temp';

let served: Awaited<ReturnType<typeof serveFolder>>;
let catalogPath: string;

before(() => modelCatalog());
after(() => served?.close());

/** The CLI without blocking this process (the model server runs in it). */
function runCliAsync(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A model catalog with the colour model, a copy whose sha256 is wrong, and one whose download stalls. */
async function modelCatalog(): Promise<void> {
  const dir = tempDir('loupe-clip-models-');
  served = await serveFolder(dir);
  const good = generateColourClip(dir, { baseUrl: served.baseUrl });
  const bad = generateColourClip(dir, { id: 'test-colour-clip-bad', baseUrl: served.baseUrl });
  bad.entry.files[1].sha256 = '0'.repeat(64); // visual/model.onnx
  const slow = generateColourClip(dir, { id: 'test-colour-clip-slow', baseUrl: `${served.baseUrl}/stall` });
  const manifest: ModelManifest = { models: [good.entry, bad.entry, slow.entry] };
  catalogPath = join(dir, 'catalog.json');
  writeFileSync(catalogPath, JSON.stringify(manifest));
}

async function idle(c: SidecarConnection): Promise<void> {
  await waitFor('index idle', async () => {
    const s = await c.connection.sendRequest(IndexStatusRequest, {});
    return s.roots.every((r) => r.state === 'idle' && r.pending === 0 && r.lastRun !== null);
  }, 60_000);
}

async function rpcError(p: Promise<unknown>, code: number): Promise<ResponseError<unknown>> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ResponseError, `expected a JSON-RPC error, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail('expected an error');
}

describe('semantic search over RPC', () => {
  let root: string;
  let sidecar: RunningSidecar;
  let c: SidecarConnection;

  before(async () => {
    root = await makeColourLibrary();
    const cache = tempDir('loupe-clip-cache-');
    mkdirSync(cache, { recursive: true });
    sidecar = await startSidecar([root], [], { LOUPE_MODEL_CATALOG: catalogPath, LOUPE_CACHE_DIR: cache, LOUPE_CLIP_MODEL: '' });
    c = await connectToSidecar(sidecar.handshake);
    await c.connection.sendRequest(InitializeRequest, { processId: null });
    await idle(c);
  });
  after(async () => {
    c?.close();
    await sidecar?.stop();
  });

  it('is off until enabled, says so, and says how much enabling downloads', async () => {
    const status = await c.connection.sendRequest(SemanticStatusRequest, {});
    assert.equal(status.enabled, false);
    assert.equal(status.modelId, 'ViT-B-32__laion2b-s34b-b79k', 'the default model');
    assert.ok(status.bytesToDownload > 300e6, `the default model is a few hundred MB (${status.bytesToDownload})`);
    assert.match(status.note ?? '', /downloads about \d+ MB/);
    const ids = status.models.map((m) => m.id);
    for (const id of ['ViT-B-32__laion2b-s34b-b79k', 'ViT-B-32__openai', 'MobileCLIP2-S0', COLOUR_MODEL_ID]) assert.ok(ids.includes(id), id);
    const laion = status.models.find((m) => m.id === 'ViT-B-32__laion2b-s34b-b79k')!;
    const openai = status.models.find((m) => m.id === 'ViT-B-32__openai')!;
    assert.ok(laion.averageRecall! > openai.averageRecall!, 'the default beats Immich\'s default');
    assert.equal(laion.multilingual, false);

    const r = await c.connection.sendRequest(SearchRequest, { query: 'red' });
    // Off: file names (and colour tags) still answer, but nothing matched semantically.
    assert.ok(r.items.some((h) => h.relPath === 'notes/red-team.png'), 'the file name matches');
    assert.ok(r.items.every((h) => h.reasons.every((x) => x.kind !== 'semantic')), 'no semantic reason while it is off');
    assert.ok(r.warnings.some((w) => /semantic search is off/.test(w) && /MB/.test(w)), r.warnings.join('\n'));
  });

  it('refuses a model that is not CLIP, a download with the wrong sha256, and stops a download on cancel', async () => {
    await rpcError(c.connection.sendRequest(SemanticEnableRequest, { model: 'yunet' }), LoupeErrorCodes.InvalidParams);
    const bad = await rpcError(c.connection.sendRequest(SemanticEnableRequest, { model: 'test-colour-clip-bad' }), LoupeErrorCodes.DownloadFailed);
    assert.match(bad.message, /sha256/);

    const source = new CancellationTokenSource();
    const progress: unknown[] = [];
    const token = 'slow-download';
    const sub = c.connection.onProgress(new ProgressType<unknown>(), token, (v) => {
      progress.push(v);
    });
    const pending = c.connection.sendRequest(SemanticEnableRequest, { model: 'test-colour-clip-slow', workDoneToken: token }, source.token);
    await waitFor('download started', () => served.requests.some((u) => u.startsWith('/stall/')));
    await waitFor('progress begun', () => progress.length > 0);
    source.cancel();
    await rpcError(pending, LoupeErrorCodes.RequestCancelled);
    sub.dispose();
    const status = await c.connection.sendRequest(SemanticStatusRequest, {});
    assert.equal(status.enabled, false, 'nothing was enabled');
  });

  it('downloads the chosen model with progress, embeds every image, and finds red images by colour', async () => {
    const values: Array<{ kind: string; percentage?: number; title?: string }> = [];
    const sub = c.connection.onProgress(new ProgressType<{ kind: string; percentage?: number; title?: string }>(), 'enable-1', (v) => {
      values.push(v);
    });
    const result = await c.connection.sendRequest(SemanticEnableRequest, { model: COLOUR_MODEL_ID, workDoneToken: 'enable-1' });
    sub.dispose();
    assert.equal(result.modelId, COLOUR_MODEL_ID);
    assert.ok(result.downloadedBytes > 1_000_000, 'the text tower alone is over 1 MB');
    assert.deepEqual(result.started, [root]);
    assert.equal(values[0].kind, 'begin');
    assert.match(values[0].title ?? '', /MB/);
    assert.equal(values[values.length - 1].kind, 'end');
    assert.ok(values.some((v) => v.kind === 'report' && v.percentage === 100), 'reports up to 100%');

    await idle(c);
    const status = await waitFor('every image embedded', async () => {
      const s = await c.connection.sendRequest(SemanticStatusRequest, { root });
      return s.roots[0].embedded === s.roots[0].images && s.enabled ? s : null;
    }, 60_000);
    assert.equal(status.modelId, COLOUR_MODEL_ID, 'the enabled model is now the chosen one');
    assert.equal(status.roots[0].images, 9);

    // The server never makes a query wait for the vector index to open; it says so meanwhile.
    const red = await waitFor('semantic index ready', async () => {
      const r: SearchResponse = await c.connection.sendRequest(SearchRequest, { query: 'red' });
      // The vector index takes the new embeddings just after the index run records them.
      return r.warnings.some((w) => /getting ready|no image is embedded yet/.test(w)) ? null : r;
    });
    assert.deepEqual(red.warnings, []);
    const paths = red.items.map((h) => h.relPath);
    // Hybrid: the two red images by colour, the decoy by its name; nothing else passes the cut.
    assert.deepEqual([...paths].sort(), [...RED_FILES, 'notes/red-team.png'].sort(), paths.join(', '));
    for (const rel of RED_FILES) {
      const hit = red.items.find((h) => h.relPath === rel)!;
      const reason = hit.reasons.find((x) => x.kind === 'semantic');
      assert.ok(reason, `${rel} matched semantically`);
      assert.match(reason.text, /^semantic (0\.9\d|1\.00)$/);
    }
    const decoy = red.items.find((h) => h.relPath === 'notes/red-team.png')!;
    assert.deepEqual(decoy.reasons.map((x) => x.kind), ['filename']);

    const blue = await c.connection.sendRequest(SearchRequest, { query: 'blue' });
    assert.deepEqual(blue.items.map((h) => h.relPath).sort(), ['home/img-005.png', 'home/img-006.png', 'notes/red-team.png']);
    const green = await c.connection.sendRequest(SearchRequest, { query: 'a photo of something green', limit: 1 });
    assert.match(green.items[0].relPath, /img-00[34]/, 'the best green match comes first');
    assert.equal(green.total, 2);
    const nothing = await c.connection.sendRequest(SearchRequest, { query: 'a cat on a sofa' });
    assert.equal(nothing.total, 0, 'a query unlike every image returns nothing, not the whole library');

    // "more like this" uses the CLIP embedding: the other red image is the nearest.
    const first = red.items.find((h) => h.relPath === RED_FILES[0])!;
    const similar = await c.connection.sendRequest(SimilarRequest, { root, id: first.id, limit: 1 });
    assert.equal(similar.items[0].relPath, RED_FILES[1]);
    assert.match(similar.items[0].reasons[0].text, /\(CLIP\)/);
  });
});

describe('semantic search in the CLI', () => {
  it('says semantic search is off, fetches the model with `loupe models fetch <id>`, then searches by colour', async () => {
    const root = await makeColourLibrary();
    const env = { ...process.env, LOUPE_MODEL_CATALOG: catalogPath, LOUPE_CACHE_DIR: tempDir('loupe-clip-cli-cache-'), LOUPE_CLIP_MODEL: COLOUR_MODEL_ID };
    assert.equal(runCli(['index', root], { env }).status, 0);
    const off = runCli(['search', root, 'red'], { env });
    assert.equal(off.status, 0, off.stderr);
    assert.match(off.stderr, /semantic search is off.*loupe models fetch test-colour-clip/);

    const fetched = await runCliAsync(['models', 'fetch', COLOUR_MODEL_ID], env);
    assert.equal(fetched.status, 0, fetched.stderr);
    assert.match(fetched.stdout, /visual\/model\.onnx/);
    assert.equal(runCli(['index', root], { env }).status, 0);
    const r = runCli(['search', root, 'red', '--json'], { env });
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout) as SearchResponse;
    assert.deepEqual(result.warnings, []);
    assert.deepEqual(result.items.map((h) => h.relPath).sort(), [...RED_FILES, 'notes/red-team.png'].sort());
    const human = runCli(['search', root, 'yellow'], { env });
    // The best match scores 1 and says why; the colour tag agrees with CLIP here.
    assert.match(human.stdout, /^1\.000  home\/img-007\.png  \(semantic 1\.00(; tag: yellow [\d.]+)?\)$/m, 'the best match scores 1, semantic first among its reasons');
  });
});
