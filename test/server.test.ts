import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ResponseError } from 'vscode-jsonrpc';
import WebSocket from 'ws';
import { Catalog } from '../sidecar/catalog/catalog';
import { connectToSidecar, type SidecarConnection } from '../sidecar/client/connect';
import {
  AssetGetRequest,
  IndexCancelRequest,
  IndexChangedNotification,
  IndexErrorsRequest,
  IndexRescanRequest,
  IndexStatusRequest,
  InitializeRequest,
  LoupeErrorCodes,
  SearchRequest,
  SimilarRequest,
  ThumbnailPathRequest,
  type IndexChangedParams,
  type SearchResponse,
} from '../sidecar/protocol';
import { makeImage, writeFile } from './fixtures/images';
import { CLI, REPO } from './helpers/cli';
import { startSidecar, waitFor, type RunningSidecar } from './helpers/sidecar';
import { tempDir } from './helpers/temp';
import { RootWatcher } from '../sidecar/server/root-watcher';

async function makeLibrary(count: number, size: [number, number] = [64, 48]): Promise<string> {
  const root = tempDir();
  for (let i = 0; i < count; i++) writeFile(join(root, i % 2 ? 'beach' : 'forest', `photo-${String(i).padStart(3, '0')}.jpg`), await makeImage('jpeg', size[0], size[1], i));
  return root;
}

async function idle(c: SidecarConnection, timeoutMs?: number): Promise<void> {
  await waitFor('index idle', async () => {
    const s = await c.connection.sendRequest(IndexStatusRequest, {});
    return s.roots.every((r) => r.state === 'idle' && r.pending === 0 && r.lastRun !== null);
  }, timeoutMs);
}

async function expectRpcError(p: Promise<unknown>, code: number, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ResponseError, `expected a JSON-RPC error, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** Resolves with the close code, or the HTTP status of a refused upgrade. */
function rawConnect(port: number, headers: Record<string, string>, firstMessage?: string): Promise<{ refusedStatus?: number; closeCode?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers });
    ws.on('unexpected-response', (_req, res) => resolve({ refusedStatus: res.statusCode }));
    ws.on('open', () => {
      if (firstMessage !== undefined) ws.send(firstMessage);
    });
    ws.on('close', (code) => resolve({ closeCode: code }));
    ws.on('error', () => undefined);
  });
}

describe('sidecar server', () => {
  let root: string;
  let sidecar: RunningSidecar;

  before(async () => {
    root = await makeLibrary(12);
    sidecar = await startSidecar([root]);
  });
  after(async () => {
    await sidecar.stop();
  });

  it('prints a handshake, listens on loopback only, and answers initialize/status/search', async () => {
    const hs = sidecar.handshake;
    assert.ok(hs.port > 0);
    assert.match(hs.token, /^[A-Za-z0-9_-]{43}$/, '256-bit token');
    assert.equal(hs.pid, sidecar.child.pid);
    await waitFor('listening log line', () => sidecar.log.some((l) => l.includes(`on 127.0.0.1:${hs.port}`)));
    const c = await connectToSidecar(hs);
    try {
      const init = await c.connection.sendRequest(InitializeRequest, { processId: process.pid, capabilities: {} });
      assert.equal(init.serverInfo.name, 'loupe');
      assert.deepEqual(init.roots, [root]);
      await idle(c);
      const status = await c.connection.sendRequest(IndexStatusRequest, {});
      assert.equal(status.roots[0].images, 12);
      // The sidecar says where its memory is (what `loupe status` and the stress run report).
      const m = status.memory;
      assert.ok(m.rssMB > 30 && m.heapUsedMB > 1 && m.nativeMB > 0, JSON.stringify(m));
      assert.ok(m.heapUsedMB + m.externalMB + m.nativeMB <= m.rssMB + 1, JSON.stringify(m));
      const result = await c.connection.sendRequest(SearchRequest, { query: 'photo-003', limit: 5 });
      assert.equal(result.items[0].relPath, 'beach/photo-003.jpg');
      assert.equal(result.items[0].root, root);
      assert.ok(result.items[0].reasons.length > 0);
      const details = await c.connection.sendRequest(AssetGetRequest, { root, id: result.items[0].id });
      assert.equal(details.absPath, join(root, 'beach/photo-003.jpg'));
      assert.equal(details.width, 64);
      const thumb = await c.connection.sendRequest(ThumbnailPathRequest, { root, id: result.items[0].id });
      assert.equal(thumb.path, result.items[0].thumbnail);
    } finally {
      c.close();
    }
  });

  it('refuses connections without the token, with a wrong token, or from a web page', async () => {
    const { port, token } = sidecar.handshake;
    assert.deepEqual(await rawConnect(port, { Authorization: 'Bearer nope' }), { refusedStatus: 401 });
    assert.deepEqual(await rawConnect(port, { Authorization: `Bearer ${token}`, Origin: 'https://evil.example' }), { refusedStatus: 403 });
    assert.deepEqual(await rawConnect(port, { Origin: 'http://localhost:3000' }), { refusedStatus: 403 });
    assert.deepEqual(await rawConnect(port, {}, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'search', params: { query: 'x' } })), { closeCode: 4401 });
    assert.deepEqual(await rawConnect(port, {}, JSON.stringify({ jsonrpc: '2.0', method: 'auth', params: { token: 'wrong' } })), { closeCode: 4401 });
    assert.ok(sidecar.log.some((l) => /refused connection .*wrong token/.test(l)), 'refusals are logged');
    assert.ok(sidecar.log.some((l) => /refused connection .*web page/.test(l)));
    // The token in the first message works too.
    const c = await connectToSidecar(sidecar.handshake, { authInFirstMessage: true });
    try {
      const status = await c.connection.sendRequest(IndexStatusRequest, {});
      assert.equal(status.roots.length, 1);
    } finally {
      c.close();
    }
  });

  it('answers errors with JSON-RPC codes and human messages', async () => {
    const c = await connectToSidecar(sidecar.handshake);
    try {
      await expectRpcError(c.connection.sendRequest(SearchRequest, { query: 'x', root: '/not/served' }), LoupeErrorCodes.UnknownRoot, /does not serve/);
      await expectRpcError(c.connection.sendRequest(AssetGetRequest, { root, id: 999999 }), LoupeErrorCodes.UnknownAsset);
      await expectRpcError(c.connection.sendRequest('search', { limit: 3 }), LoupeErrorCodes.InvalidParams, /query/);
      await expectRpcError(c.connection.sendRequest('no/such/method', {}), LoupeErrorCodes.MethodNotFound);
      // FeatureUnavailable (a root without embeddings) is covered in vector-index.test.ts.
      await expectRpcError(c.connection.sendRequest(SimilarRequest, { root, id: 999999 }), LoupeErrorCodes.UnknownAsset);
    } finally {
      c.close();
    }
  });

  it('serves a storm of 1,000 requests from 10 concurrent clients correctly', async () => {
    const clients = await Promise.all(Array.from({ length: 10 }, () => connectToSidecar(sidecar.handshake)));
    try {
      const results = await Promise.all(
        clients.flatMap((c, ci) =>
          Array.from({ length: 100 }, async (_, i) => {
            const n = (ci * 100 + i) % 12;
            const name = `photo-${String(n).padStart(3, '0')}`;
            const r = await c.connection.sendRequest(SearchRequest, { query: name, limit: 1 });
            return r.items[0]?.relPath === `${n % 2 ? 'beach' : 'forest'}/${name}.jpg`;
          }),
        ),
      );
      assert.equal(results.length, 1000);
      assert.equal(results.filter(Boolean).length, 1000);
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('survives a client that disconnects mid-request', async () => {
    const c = await connectToSidecar(sidecar.handshake);
    void c.connection.sendRequest(SearchRequest, { query: 'photo', limit: 100 }).catch(() => undefined);
    void c.connection.sendRequest(IndexErrorsRequest, {}).catch(() => undefined);
    c.socket.terminate();
    const other = await connectToSidecar(sidecar.handshake);
    try {
      const r = await other.connection.sendRequest(SearchRequest, { query: 'photo', limit: 3 });
      assert.equal(r.items.length, 3);
    } finally {
      other.close();
    }
    assert.equal(sidecar.child.exitCode, null);
  });

  it('keeps the index live: new, atomically replaced and deleted files reach every client', async () => {
    const a = await connectToSidecar(sidecar.handshake);
    const b = await connectToSidecar(sidecar.handshake);
    const changes: IndexChangedParams[] = [];
    b.connection.onNotification(IndexChangedNotification, (p) => {
      changes.push(p);
    });
    try {
      await idle(a);
      writeFile(join(root, 'new-sunset.png'), await makeImage('png', 80, 60, 99));
      const hit = await waitFor('new file searchable', async () => (await a.connection.sendRequest(SearchRequest, { query: 'sunset' })).items[0]);
      assert.equal(hit.relPath, 'new-sunset.png');
      await waitFor('index/changed notification', () => changes.some((c) => c.upserted.includes(hit.id)));

      // An editor's atomic save: write a temp file, rename it over the original.
      writeFileSync(join(root, '.new-sunset.png.tmp'), await makeImage('png', 120, 90, 100));
      renameSync(join(root, '.new-sunset.png.tmp'), join(root, 'new-sunset.png'));
      await waitFor('replaced file re-indexed', async () => (await a.connection.sendRequest(AssetGetRequest, { root, id: hit.id })).width === 120);

      rmSync(join(root, 'new-sunset.png'));
      await waitFor('deleted file gone', async () => (await a.connection.sendRequest(SearchRequest, { query: 'sunset' })).items.length === 0);
      await waitFor('removal notified', () => changes.some((c) => c.removed.includes(hit.id)));
    } finally {
      a.close();
      b.close();
    }
  });

  it('reports indexing as LSP work-done progress and can cancel a run', async () => {
    const c = await connectToSidecar(sidecar.handshake);
    const progress: Array<{ token: string | number; value: { kind: string; message?: string } }> = [];
    const created: Array<string | number> = [];
    c.connection.onRequest('window/workDoneProgress/create', (p: { token: string | number }) => {
      created.push(p.token);
      return null;
    });
    c.connection.onNotification('$/progress', (p: { token: string | number; value: { kind: string } }) => {
      progress.push(p);
    });
    try {
      await c.connection.sendRequest(InitializeRequest, { capabilities: { window: { workDoneProgress: true } } });
      await idle(c);
      await c.connection.sendRequest(IndexRescanRequest, { workDoneToken: 'mine' });
      await waitFor('progress on my token ends', () => progress.some((p) => p.token === 'mine' && p.value.kind === 'end'));
      const mine = progress.filter((p) => p.token === 'mine').map((p) => p.value.kind);
      assert.equal(mine[0], 'begin');
      assert.equal(mine[mine.length - 1], 'end');
      // Background runs use a server-created token.
      writeFile(join(root, 'trigger.png'), await makeImage('png', 10, 10, 7));
      await waitFor('server-created progress', () => created.length > 0 && progress.some((p) => p.token === created[0] && p.value.kind === 'end'));
      const cancelled = await c.connection.sendRequest(IndexCancelRequest, {});
      assert.ok(Array.isArray(cancelled.cancelled));
    } finally {
      c.close();
    }
  });
});

describe('several roots', () => {
  it('serves two roots from one sidecar and pages merged results without repeats or gaps', async () => {
    const a = await makeLibrary(7);
    const b = await makeLibrary(6);
    const s = await startSidecar([a, b], ['--no-watch']);
    const c = await connectToSidecar(s.handshake);
    try {
      await idle(c);
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10; page++) {
        const r: SearchResponse = await c.connection.sendRequest(SearchRequest, { query: 'photo', limit: 4, cursor });
        assert.equal(r.total, 13);
        seen.push(...r.items.map((h) => `${h.root}/${h.relPath}`));
        cursor = r.nextCursor;
        if (!cursor) break;
      }
      assert.equal(seen.length, 13);
      assert.equal(new Set(seen).size, 13);
      const onlyB = await c.connection.sendRequest(SearchRequest, { query: 'photo', root: b, limit: 50 });
      assert.ok(onlyB.items.every((h) => h.root === b));
      await expectRpcError(c.connection.sendRequest(SearchRequest, { query: 'photo', cursor: 'garbage!' }), LoupeErrorCodes.InvalidCursor);
    } finally {
      c.close();
      await s.stop();
    }
  });
});

describe('sidecar lifecycle', () => {
  it('refuses a second server on the same root, naming the first', async () => {
    const root = await makeLibrary(2);
    const first = await startSidecar([root]);
    try {
      await assert.rejects(startSidecar([root]), new RegExp(`another Loupe server \\(pid ${first.handshake.pid}`));
    } finally {
      await first.stop();
    }
  });

  it('shuts down when idle with no client, and on SIGTERM', async () => {
    const root = await makeLibrary(1);
    const s = await startSidecar([root], ['--idle-timeout', '0.02']);
    const c = await connectToSidecar(s.handshake);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(s.child.exitCode, null, 'a connected client keeps it alive');
    c.close();
    assert.equal(await s.exited, 0);
    assert.ok(s.log.some((l) => /no client for/.test(l)));

    const t = await startSidecar([root]);
    t.child.kill('SIGTERM');
    assert.equal(await t.exited, 0);
  });

  it('exits when its parent process dies (no orphans)', async () => {
    const root = await makeLibrary(1);
    // A parent that spawns the sidecar, reports its pid, then is killed.
    const parentScript = `
      const { spawn } = require('node:child_process');
      const child = spawn(process.execPath, [${JSON.stringify(CLI)}, 'serve', '--root', ${JSON.stringify(root)}], { stdio: ['ignore', 'pipe', 'ignore'] });
      child.stdout.once('data', () => { process.stdout.write(String(child.pid) + '\\n'); });
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['-e', parentScript], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    const alive = (p: number) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    };
    assert.ok(alive(pid));
    parent.kill('SIGKILL');
    await waitFor('orphaned sidecar exits', () => !alive(pid), 10_000);
  });

  it('SIGKILL during indexing loses nothing and redoes nothing on restart', async () => {
    const root = await makeLibrary(30, [2000, 1500]);
    const s = await startSidecar([root], ['--no-watch']);
    const c = await connectToSidecar(s.handshake);
    await waitFor('some images indexed', async () => {
      const st = await c.connection.sendRequest(IndexStatusRequest, {});
      return st.roots[0].images >= 4;
    });
    s.child.kill('SIGKILL');
    await s.exited;
    c.socket.terminate();
    const peek = await Catalog.open(root);
    const done = await peek.rawQuery(`SELECT rel_path, CAST(indexed_at AS VARCHAR) AS t FROM assets WHERE status = 'ok'`);
    peek.close();
    assert.ok(done.length >= 4 && done.length < 30, `${done.length} done before the kill`);

    const again = await startSidecar([root], ['--no-watch']);
    const c2 = await connectToSidecar(again.handshake);
    try {
      // Up to 26 large photos through every default analyzer (labels, objects, faces, colours).
      await idle(c2, 90_000);
      const st = await c2.connection.sendRequest(IndexStatusRequest, {});
      assert.equal(st.roots[0].images, 30);
      assert.equal(st.roots[0].lastRun?.processed, 30 - done.length, 'only unfinished images were processed');
    } finally {
      c2.close();
      await again.stop();
    }
    const check = await Catalog.open(root);
    for (const row of done) assert.equal((await check.getAssetByPath(row.rel_path as string))?.indexedAt, row.t);
    check.close();
  });
});

describe('root watcher', () => {
  it('watches folders, not files: sees files added, changed and removed at any depth, new folders too, never its own state', async () => {
    const root = tempDir('loupe-watch-');
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    mkdirSync(join(root, '.loupe'));
    mkdirSync(join(root, 'node_modules', 'x'), { recursive: true });
    for (let i = 0; i < 200; i++) writeFileSync(join(root, 'a', `f${i}.png`), '');
    let settled = 0;
    const errors: unknown[] = [];
    const watcher = new RootWatcher(root, {
      excludes: ['node_modules'],
      stateDir: join(root, '.loupe'),
      debounceMs: 100,
      onSettled: () => settled++,
      onError: (e) => errors.push(e),
    });
    await watcher.start();
    try {
      assert.equal(watcher.watchedFolders, 3, 'root, a, a/b: one watch per folder, none per file, none in excluded or state folders');
      const step = async (what: string, act: () => void) => {
        const before = settled;
        act();
        await waitFor(what, () => settled > before, 5000);
      };
      await step('a file added deep down', () => writeFileSync(join(root, 'a', 'b', 'new.png'), 'x'));
      await step('a file changed in place', () => writeFileSync(join(root, 'a', 'f1.png'), 'changed'));
      await step('a file removed', () => rmSync(join(root, 'a', 'f2.png')));
      await step('a new folder', () => mkdirSync(join(root, 'c')));
      await waitFor('the new folder is watched', () => watcher.watchedFolders === 4, 5000);
      await step('a file in the new folder', () => writeFileSync(join(root, 'c', 'pic.png'), 'x'));
      await step('a folder removed', () => rmSync(join(root, 'a'), { recursive: true }));
      await waitFor('its watches let go', () => watcher.watchedFolders === 2, 5000);
      const quiet = settled;
      writeFileSync(join(root, '.loupe', 'catalog.duckdb.wal'), 'x');
      writeFileSync(join(root, 'node_modules', 'x', 'icon.png'), 'x');
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(settled, quiet, 'Loupe\'s own writes and excluded folders trigger nothing');
      assert.deepEqual(errors, []);
    } finally {
      await watcher.close();
    }
  });
});
