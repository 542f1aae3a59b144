/**
 * Path containment over the protocol: whatever a client sends, the sidecar reads, describes, thumbnails
 * or trashes nothing outside the roots it serves: `..`, absolute paths, URL-encoded tricks and symlinks
 * that lead out.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { connectToSidecar, type SidecarConnection } from '../sidecar/client/connect';
import type { IndexStatusResult, SearchResponse } from '../sidecar/protocol';
import { startSidecar, waitFor, type RunningSidecar } from './helpers/sidecar';
import { SHARED_DATA, tempDir } from './helpers/temp';

describe('nothing outside the roots', () => {
  let root: string;
  let outside: string;
  let sidecar: RunningSidecar;
  let conn: SidecarConnection;

  before(async () => {
    root = tempDir();
    outside = tempDir('loupe-outside-');
    copyFileSync(join(SHARED_DATA, 'text2image/nature/silver_fir.jpg'), join(root, 'fir.jpg'));
    copyFileSync(join(SHARED_DATA, 'text2image/nature/prairie_falcon.jpg'), join(outside, 'secret.jpg'));
    symlinkSync(join(outside, 'secret.jpg'), join(root, 'link.jpg'));
    symlinkSync(outside, join(root, 'door'));
    mkdirSync(join(root, 'sub'));
    sidecar = await startSidecar([root], ['--no-watch'], { LOUPE_ANALYZERS: 'none' });
    conn = await connectToSidecar(sidecar.handshake);
    await conn.connection.sendRequest('initialize', { capabilities: {} });
    await waitFor('indexing', async () => ((await conn.connection.sendRequest('index/status', {})) as IndexStatusResult).roots[0].state === 'idle', 60_000);
  });

  after(async () => {
    conn?.close();
    await sidecar?.stop();
  });

  it('asset/byPath answers null for every way out', async () => {
    const tricks = [
      join(outside, 'secret.jpg'),
      `${root}/../${outside.split('/').pop()}/secret.jpg`,
      `${root}/sub/../../${outside.split('/').pop()}/secret.jpg`,
      `${root}/%2e%2e/${outside.split('/').pop()}/secret.jpg`,
      join(root, 'door', 'secret.jpg'),
      '/etc/passwd',
      `${root}\u0000/fir.jpg`,
    ];
    for (const path of tricks) {
      const r = await conn.connection.sendRequest('asset/byPath', { path }).catch((e: { code: number }) => ({ refused: e.code }));
      assert.ok(r === null || (typeof r === 'object' && 'refused' in r), `${JSON.stringify(path)} -> ${JSON.stringify(r)}`);
    }
    // The link itself lives in the root: it is described as a link that was not followed, with nothing of its target.
    const link = (await conn.connection.sendRequest('asset/byPath', { path: join(root, 'link.jpg') })) as { status: string; size: number; width: number | null; error: { code: string } };
    assert.deepEqual([link.status, link.error.code, link.size, link.width], ['error', 'outside_root', 0, null]);
    const inside = (await conn.connection.sendRequest('asset/byPath', { path: join(root, 'fir.jpg') })) as { relPath: string };
    assert.equal(inside.relPath, 'fir.jpg');
  });

  it('search, similar and thumbnails never show the outside file', async () => {
    const all = (await conn.connection.sendRequest('search', { query: '' })) as SearchResponse;
    assert.deepEqual(all.items.map((i) => i.relPath), ['fir.jpg']);
    for (const q of ['secret', 'falcon', 'door', 'link']) {
      assert.equal(((await conn.connection.sendRequest('search', { query: q })) as SearchResponse).items.length, 0, q);
    }
    for (const id of [-1, 0, 999999, 1.5]) {
      await assert.rejects(conn.connection.sendRequest('thumbnail/path', { root, id }));
      await assert.rejects(conn.connection.sendRequest('asset/get', { root, id }));
    }
    await assert.rejects(conn.connection.sendRequest('asset/get', { root: outside, id: 1 }), /does not serve/);
  });

  it('files/trash cannot reach outside files and refuses unknown ids', async () => {
    await assert.rejects(conn.connection.sendRequest('files/trash', { root, ids: [999999] }));
    await assert.rejects(conn.connection.sendRequest('files/trash', { root: outside, ids: [1] }));
    assert.ok(existsSync(join(outside, 'secret.jpg')), 'the outside file is untouched');
  });
});
