import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { Catalog } from '../sidecar/catalog/catalog';
import { findDuplicateGroups } from '../sidecar/duplicates/find-groups';
import { recoverResolutions, resolveGroup, undoResolution } from '../sidecar/duplicates/resolve';
import { indexRoot } from '../sidecar/pipeline/indexer';
import { connectToSidecar } from '../sidecar/client/connect';
import * as protocol from '../sidecar/protocol';
import { writeFile } from './fixtures/images';
import { startSidecar, waitFor } from './helpers/sidecar';
import { SHARED_DATA, tempDir } from './helpers/temp';

before(() => {
  process.env.XDG_DATA_HOME = tempDir('loupe-xdg-');
});

const PHOTO = join(SHARED_DATA, 'text2image/nature/prairie_falcon.jpg');

/** A workspace with one photo in three versions and documents in several folders linking to them. */
async function workspace(): Promise<{ root: string; docs: Record<string, string> }> {
  const root = tempDir();
  const full = readFileSync(PHOTO);
  writeFile(join(root, 'photos/falcon.jpg'), full);
  writeFile(join(root, 'web/falcon small.jpg'), await sharp(full).resize(400).jpeg({ quality: 80 }).toBuffer());
  writeFile(join(root, 'exports/falcon-copy.jpg'), full);
  const docs: Record<string, string> = {
    'README.md': '# Birds\n![Falcon](web/falcon%20small.jpg "small")\n![Copy](./exports/falcon-copy.jpg)\n',
    'docs/guide/birds.md': 'See ![x](../../web/falcon%20small.jpg#top) and <img src="/exports/falcon-copy.jpg" width=200>.\n`![code](../../web/falcon small.jpg)`\n',
    'site/style.css': '.hero { background: url("../web/falcon small.jpg"); }\n',
  };
  for (const [path, text] of Object.entries(docs)) writeFile(join(root, path), text);
  return { root, docs };
}

async function indexed(root: string): Promise<Catalog> {
  const catalog = await Catalog.open(root);
  await indexRoot(catalog);
  return catalog;
}

describe('duplicate resolution', () => {
  it('trashes the copies, points every document at the keeper, and undo restores all bytes', async () => {
    const { root, docs } = await workspace();
    const catalog = await indexed(root);
    try {
      const report = await findDuplicateGroups(catalog);
      const group = report.groups.find((g) => g.category === 'near' && g.members.some((m) => m.relPath === 'web/falcon small.jpg'));
      assert.ok(group, 'the small copy is a near-duplicate of the photo');
      const keeper = group.members.find((m) => m.relPath === 'photos/falcon.jpg')!;
      // Two identical full-size files: the tie goes to the one documents already use.
      const suggested = group.members.find((m) => m.id === group.keeperId)!;
      assert.equal(suggested.relPath, 'exports/falcon-copy.jpg');
      assert.equal(group.keeperReason, 'used by 2 documents');
      // The user keeps the original in photos/ instead.

      const result = await resolveGroup(catalog, { groupKey: group.key, keep: [keeper.id] });
      assert.equal(result.state, 'applied');
      assert.deepEqual(result.trashed.sort(), ['exports/falcon-copy.jpg', 'web/falcon small.jpg']);
      assert.equal(existsSync(join(root, 'web/falcon small.jpg')), false);
      assert.equal(existsSync(join(root, 'exports/falcon-copy.jpg')), false);
      assert.equal(existsSync(join(root, 'photos/falcon.jpg')), true);
      assert.equal(readFileSync(join(root, 'README.md'), 'utf8'), '# Birds\n![Falcon](photos/falcon.jpg "small")\n![Copy](./photos/falcon.jpg)\n');
      assert.equal(
        readFileSync(join(root, 'docs/guide/birds.md'), 'utf8'),
        'See ![x](../../photos/falcon.jpg#top) and <img src="/photos/falcon.jpg" width=200>.\n`![code](../../web/falcon small.jpg)`\n',
        'links in code are left alone',
      );
      assert.equal(readFileSync(join(root, 'site/style.css'), 'utf8'), '.hero { background: url("../photos/falcon.jpg"); }\n');
      assert.equal(await catalog.getAssetByPath('web/falcon small.jpg'), null);
      const after = await findDuplicateGroups(catalog);
      assert.ok(!after.groups.some((g) => g.key === group.key));

      const undone = await undoResolution(catalog, result.id);
      assert.equal(undone.state, 'undone');
      assert.equal(undone.error, null);
      for (const [path, text] of Object.entries(docs)) assert.equal(readFileSync(join(root, path), 'utf8'), text, `${path} restored byte for byte`);
      assert.deepEqual(readFileSync(join(root, 'exports/falcon-copy.jpg')), readFileSync(PHOTO));
      assert.ok(existsSync(join(root, 'web/falcon small.jpg')));
      await assert.rejects(undoResolution(catalog, result.id), /only applied resolutions can be undone/);
    } finally {
      catalog.close();
    }
  });

  it('refuses up front when a document cannot be rewritten, changing nothing', async () => {
    const { root, docs } = await workspace();
    const catalog = await indexed(root);
    try {
      const group = (await findDuplicateGroups(catalog)).groups.find((g) => g.category === 'near')!;
      chmodSync(join(root, 'site/style.css'), 0o444);
      await assert.rejects(resolveGroup(catalog, { groupKey: group.key, keep: [group.keeperId] }), /style\.css: the file is read-only; nothing was changed/);
      for (const [path, text] of Object.entries(docs)) assert.equal(readFileSync(join(root, path), 'utf8'), text);
      assert.ok(existsSync(join(root, 'web/falcon small.jpg')));
      assert.ok(existsSync(join(root, 'exports/falcon-copy.jpg')));
    } finally {
      catalog.close();
    }
  });

  it('refuses when a document changed since indexing', async () => {
    const { root } = await workspace();
    const catalog = await indexed(root);
    try {
      const group = (await findDuplicateGroups(catalog)).groups.find((g) => g.category === 'near')!;
      writeFileSync(join(root, 'README.md'), 'Rewritten by hand ![Falcon](web/falcon%20small.jpg)\n');
      await assert.rejects(resolveGroup(catalog, { groupKey: group.key, keep: [group.keeperId] }), /changed since it was indexed/);
      assert.ok(existsSync(join(root, 'web/falcon small.jpg')));
    } finally {
      catalog.close();
    }
  });

  it('rolls back a resolution interrupted by a crash', async () => {
    const { root, docs } = await workspace();
    const catalog = await indexed(root);
    try {
      // The state a kill -9 leaves after the first document was rewritten: journal says "applying".
      const backup = join(catalog.stateDir, 'crash-backup.bak');
      writeFileSync(backup, docs['README.md']);
      const written = '# Birds\n![Falcon](photos/falcon.jpg "small")\n![Copy](./exports/falcon-copy.jpg)\n';
      writeFileSync(join(root, 'README.md'), written);
      const sha = (await import('node:crypto')).createHash('sha256').update(written).digest('hex');
      const journal = { keep: ['photos/falcon.jpg'], trash: [{ relPath: 'web/falcon small.jpg', trashed: null, startedAt: null }], rewrites: [{ document: 'README.md', backup, writtenSha256: sha, links: [] }] };
      await catalog.transact((q) => q.exec(`INSERT INTO resolutions (state, group_key, journal) VALUES ('applying', 'near:x', $1)`, [JSON.stringify(journal)]));
      assert.equal(await recoverResolutions(catalog), 1);
      assert.equal(readFileSync(join(root, 'README.md'), 'utf8'), docs['README.md']);
      const state = await catalog.read(`SELECT state, error_message FROM resolutions WHERE group_key = 'near:x'`);
      assert.equal(state[0].state, 'failed');
      assert.match(String(state[0].error_message), /rolled back on restart/);
    } finally {
      catalog.close();
    }
  });
});

describe('duplicates over the sidecar protocol', () => {
  it('lists, resolves, undoes and dismisses through RPC, and the index follows', async () => {
    const { root, docs } = await workspace();
    const xdg = process.env.XDG_DATA_HOME!;
    const sidecar = await startSidecar([root], [], { XDG_DATA_HOME: xdg });
    const c = await connectToSidecar(sidecar.handshake);
    try {
      await waitFor('indexed', async () => {
        const s = await c.connection.sendRequest(protocol.IndexStatusRequest, {});
        return s.roots[0].state === 'idle' && s.roots[0].lastRun !== null && s.roots[0].pending === 0;
      });
      const list = await c.connection.sendRequest(protocol.DuplicatesListRequest, {});
      const near = list.groups.find((g) => g.category === 'near')!;
      assert.equal(near.root, root);
      assert.ok(list.reclaimableBytes > 0);
      const keep = near.members.find((m) => m.relPath === 'photos/falcon.jpg')!.id;
      const done = await c.connection.sendRequest(protocol.DuplicatesResolveRequest, { root, groupKey: near.key, keep: [keep] });
      assert.equal(done.state, 'applied');
      assert.equal(readFileSync(join(root, 'site/style.css'), 'utf8'), '.hero { background: url("../photos/falcon.jpg"); }\n');
      await waitFor('search no longer finds the trashed copy', async () => (await c.connection.sendRequest(protocol.SearchRequest, { query: 'falcon-copy' })).items.length === 0);
      const history = await c.connection.sendRequest(protocol.DuplicatesHistoryRequest, {});
      assert.equal(history.resolutions[0].id, done.id);

      const undone = await c.connection.sendRequest(protocol.DuplicatesUndoRequest, { root, id: done.id });
      assert.equal(undone.state, 'undone');
      for (const [path, text] of Object.entries(docs)) assert.equal(readFileSync(join(root, path), 'utf8'), text);
      await waitFor('restored copy is indexed again', async () => (await c.connection.sendRequest(protocol.SearchRequest, { query: 'falcon-copy' })).items.length === 1);

      await assert.rejects(
        c.connection.sendRequest(protocol.DuplicatesResolveRequest, { root, groupKey: 'near:gone', keep: [keep] }),
        (err: { code?: number; message?: string }) => err.code === protocol.LoupeErrorCodes.ResolutionFailed && /no longer exists/.test(err.message ?? ''),
      );
      const again = await waitFor('group listed again', async () =>
        (await c.connection.sendRequest(protocol.DuplicatesListRequest, {})).groups.find((g) => g.category === 'near'),
      );
      await c.connection.sendRequest(protocol.DuplicatesDismissRequest, { root, groupKey: again.key });
      const after = await c.connection.sendRequest(protocol.DuplicatesListRequest, {});
      assert.ok(!after.groups.some((g) => g.key === again.key));
    } finally {
      c.close();
      await sidecar.stop();
    }
  });
});
