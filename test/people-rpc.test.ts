import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectToSidecar } from '../sidecar/client/connect';
import * as protocol from '../sidecar/protocol';
import { runCli } from './helpers/cli';
import { startSidecar, waitFor } from './helpers/sidecar';
import { SHARED_DATA, tempDir } from './helpers/temp';

const LFW = join(SHARED_DATA, 'faces/lfw10/images');
const PEOPLE = ['Colin_Powell', 'Jacques_Chirac', 'Tony_Blair'];

describe('people over the sidecar protocol and the CLI', () => {
  it('groups faces into clusters, names one, answers person: searches, remembers a rejection', async () => {
    const root = tempDir();
    for (const person of PEOPLE) {
      mkdirSync(join(root, 'events', person.toLowerCase()), { recursive: true });
      for (const f of readdirSync(join(LFW, person)).sort().slice(0, 4)) copyFileSync(join(LFW, person, f), join(root, 'events', person.toLowerCase(), f));
    }
    const sidecar = await startSidecar([root], ['--no-watch']);
    const c = await connectToSidecar(sidecar.handshake);
    try {
      await waitFor('indexed', async () => {
        const s = await c.connection.sendRequest(protocol.IndexStatusRequest, {});
        return s.roots[0].state === 'idle' && s.roots[0].lastRun !== null && s.roots[0].pending === 0;
      }, 60_000);
      const list = await c.connection.sendRequest(protocol.PeopleListRequest, {});
      const clusters = list.people.filter((p) => p.kind === 'cluster' && p.faceCount >= 3);
      assert.equal(clusters.length, 3, JSON.stringify(list.people.map((p) => [p.kind, p.faceCount])));
      // Each cluster holds one person's photos only.
      for (const cluster of clusters) {
        const details = await c.connection.sendRequest(protocol.PeopleGetRequest, { root, personId: cluster.id });
        const folders = new Set(details.faces.map((f) => f.relPath.split('/')[1]));
        assert.equal(folders.size, 1, `cluster ${cluster.id} mixes ${[...folders].join(', ')}`);
      }
      const powellCluster = await (async () => {
        for (const cluster of clusters) {
          const d = await c.connection.sendRequest(protocol.PeopleGetRequest, { root, personId: cluster.id });
          if (d.faces[0].relPath.includes('colin_powell')) return d;
        }
        throw new Error('no Powell cluster');
      })();
      const named = await c.connection.sendRequest(protocol.PeopleNameRequest, { root, personId: powellCluster.id, name: 'Colin Powell' });
      assert.equal(named.name, 'Colin Powell');
      assert.equal(named.kind, 'person');
      const search = await c.connection.sendRequest(protocol.SearchRequest, { query: 'person:powell', limit: 50 });
      assert.equal(search.items.length, powellCluster.faces.length);
      assert.ok(search.items.every((h) => h.relPath.includes('colin_powell')));

      const face = powellCluster.faces[powellCluster.faces.length - 1];
      const rejected = await c.connection.sendRequest(protocol.FacesRejectRequest, { root, faceId: face.id, personId: powellCluster.id });
      assert.notEqual(rejected.personId, powellCluster.id);
      const after = await c.connection.sendRequest(protocol.PeopleGetRequest, { root, personId: powellCluster.id });
      assert.ok(!after.faces.some((f) => f.id === face.id), 'the rejected face left the person');
      const details = await c.connection.sendRequest(protocol.AssetGetRequest, { root, id: face.assetId });
      assert.ok(details.faces.length >= 1 && details.faces[0].box.w > 0);
      await assert.rejects(c.connection.sendRequest(protocol.PeopleNameRequest, { root, personId: 999999, name: 'x' }), (e: { code?: number }) => e.code === protocol.LoupeErrorCodes.InvalidParams);
    } finally {
      c.close();
      await sidecar.stop();
    }
    const cli = runCli(['people', root, '--json']);
    assert.equal(cli.status, 0, cli.stderr);
    const parsed = JSON.parse(cli.stdout) as { people: Array<{ name: string | null; faces: Array<{ relPath: string; box: { w: number } }> }> };
    const powell = parsed.people.find((p) => p.name === 'Colin Powell');
    assert.ok(powell && powell.faces.every((f) => f.relPath.includes('colin_powell') && f.box.w > 0));
    const human = runCli(['people', root]);
    assert.match(human.stdout, /^Colin Powell: \d+ faces in \d+ photos/m);
    const forget = runCli(['people', 'forget', root]);
    assert.match(forget.stdout, /^deleted \d+ faces, \d+ people/);
    assert.equal((JSON.parse(runCli(['people', root, '--json']).stdout) as { people: unknown[] }).people.length, 0);
  });
});
