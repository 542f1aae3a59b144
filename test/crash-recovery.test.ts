/**
 * Crash safety of duplicate resolution, step by step: the sidecar is made to die like kill -9 at
 * each point between the journal's steps (LOUPE_CRASH_AT), and the next start must put everything
 * back: every file in place with its bytes, every document as it was, nothing left in the trash or
 * beside the documents, and the resolution recorded as rolled back without exceptions.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectToSidecar } from '../sidecar/client/connect';
import * as protocol from '../sidecar/protocol';
import { writeFile } from './fixtures/images';
import { startSidecar, waitFor, type RunningSidecar } from './helpers/sidecar';
import { SHARED_DATA, tempDir } from './helpers/temp';

const PHOTO = readFileSync(join(SHARED_DATA, 'text2image/nature/prairie_falcon.jpg'));
const DOCS: Record<string, string> = {
  'README.md': '![one](copies/b.jpg) and ![two](copies/c.jpg)\n',
  'notes/birds.md': 'See ![c](../copies/c.jpg).\n',
};

function workspace(): string {
  const root = tempDir();
  for (const name of ['a', 'b', 'c']) writeFile(join(root, `copies/${name}.jpg`), PHOTO);
  for (const [path, text] of Object.entries(DOCS)) writeFile(join(root, path), text);
  return root;
}

async function serve(root: string, xdg: string, crashAt?: string): Promise<{ sidecar: RunningSidecar; c: Awaited<ReturnType<typeof connectToSidecar>> }> {
  const env: NodeJS.ProcessEnv = { XDG_DATA_HOME: xdg, LOUPE_ANALYZERS: 'none', LOUPE_CRASH_AT: crashAt ?? '' };
  const sidecar = await startSidecar([root], ['--no-watch'], env);
  const c = await connectToSidecar(sidecar.handshake);
  await waitFor('indexed', async () => {
    const s = await c.connection.sendRequest(protocol.IndexStatusRequest, {});
    return s.roots[0].state === 'idle' && s.roots[0].lastRun !== null && s.roots[0].pending === 0;
  });
  return { sidecar, c };
}

/** Every file in the workspace except Loupe's own state folder. */
function filesIn(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.name === '.loupe' ? [] : e.isDirectory() ? filesIn(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

/** Every image with its bytes, every document as it was, no temporary files, an empty trash. */
function assertAllBack(root: string, xdg: string): void {
  for (const name of ['a', 'b', 'c']) assert.deepEqual(readFileSync(join(root, `copies/${name}.jpg`)), PHOTO, `${name}.jpg is back`);
  for (const [path, text] of Object.entries(DOCS)) assert.equal(readFileSync(join(root, path), 'utf8'), text, `${path} is as it was`);
  assert.deepEqual(filesIn(root).sort(), ['README.md', 'copies/a.jpg', 'copies/b.jpg', 'copies/c.jpg', 'notes/birds.md'], 'no temporary files left');
  const trash = join(xdg, 'Trash');
  for (const sub of ['files', 'info']) assert.deepEqual(existsSync(join(trash, sub)) ? readdirSync(join(trash, sub)) : [], [], `nothing left in the trash's ${sub}`);
}

const POINTS = [
  'resolve:started',
  'rewrite:before-write',
  'write:temp-written',
  'rewrite:written',
  'write:temp-written#2',
  'trash:before-move',
  'trash:moved',
  'trash:moved#2',
  'resolve:catalog-updated',
];

describe('a duplicate resolution killed at any step is rolled back on the next start', () => {
  for (const point of POINTS) {
    it(`killed at ${point}`, async () => {
      const root = workspace();
      const xdg = tempDir('loupe-xdg-');
      const first = await serve(root, xdg, point);
      const list = await first.c.connection.sendRequest(protocol.DuplicatesListRequest, {});
      const group = list.groups.find((g) => g.category === 'exact')!;
      const keep = group.members.find((m) => m.relPath === 'copies/a.jpg')!.id;
      first.c.connection.sendRequest(protocol.DuplicatesResolveRequest, { root, groupKey: group.key, keep: [keep] }).catch(() => undefined);
      assert.equal(await first.sidecar.exited, null, 'the sidecar died at the crash point');
      first.c.close();

      const second = await serve(root, xdg);
      try {
        assertAllBack(root, xdg);
        const history = await second.c.connection.sendRequest(protocol.DuplicatesHistoryRequest, {});
        assert.equal(history.resolutions.length, 1);
        assert.equal(history.resolutions[0].state, 'failed');
        assert.doesNotMatch(history.resolutions[0].error ?? '', /except/, 'everything could be put back');
        // The group is offered again and can be resolved now.
        const again = await waitFor('group listed again', async () =>
          (await second.c.connection.sendRequest(protocol.DuplicatesListRequest, {})).groups.find((g) => g.category === 'exact' && g.members.length === 3),
        );
        const done = await second.c.connection.sendRequest(protocol.DuplicatesResolveRequest, { root, groupKey: again.key, keep: [again.members.find((m) => m.relPath === 'copies/a.jpg')!.id] });
        assert.equal(done.state, 'applied');
        assert.equal(readFileSync(join(root, 'README.md'), 'utf8'), '![one](copies/a.jpg) and ![two](copies/a.jpg)\n');
      } finally {
        second.c.close();
        await second.sidecar.stop();
      }
    });
  }
});

describe('an undo killed at any step is finished on the next start', () => {
  for (const point of ['undo:started', 'restore:done', 'restore:done#2']) {
    it(`killed at ${point}`, async () => {
      const root = workspace();
      const xdg = tempDir('loupe-xdg-');
      const first = await serve(root, xdg, point);
      const group = (await first.c.connection.sendRequest(protocol.DuplicatesListRequest, {})).groups.find((g) => g.category === 'exact')!;
      const keep = group.members.find((m) => m.relPath === 'copies/a.jpg')!.id;
      const done = await first.c.connection.sendRequest(protocol.DuplicatesResolveRequest, { root, groupKey: group.key, keep: [keep] });
      assert.equal(done.state, 'applied');
      first.c.connection.sendRequest(protocol.DuplicatesUndoRequest, { root, id: done.id }).catch(() => undefined);
      assert.equal(await first.sidecar.exited, null, 'the sidecar died at the crash point');
      first.c.close();

      const second = await serve(root, xdg);
      try {
        assertAllBack(root, xdg);
        const history = await second.c.connection.sendRequest(protocol.DuplicatesHistoryRequest, {});
        assert.equal(history.resolutions[0].state, 'undone');
        assert.equal(history.resolutions[0].error, null);
        await waitFor('the restored copies are indexed again', async () =>
          (await second.c.connection.sendRequest(protocol.DuplicatesListRequest, {})).groups.some((g) => g.category === 'exact' && g.members.length === 3),
        );
      } finally {
        second.c.close();
        await second.sidecar.stop();
      }
    });
  }
});
