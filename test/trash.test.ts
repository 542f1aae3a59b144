import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, it } from 'node:test';
import { findInTrash, moveToTrash, restoreFromTrash } from '../sidecar/trash/os-trash';
import { tempDir } from './helpers/temp';

before(() => {
  // Keep the test's trash away from the user's real one.
  process.env.XDG_DATA_HOME = tempDir('loupe-xdg-');
});

it('moves files to the OS trash (never deletes) and restores them byte for byte', async () => {
  const root = tempDir();
  mkdirSync(join(root, 'sub dir'), { recursive: true });
  const a = join(root, 'sub dir', 'copy of photo.jpg');
  const b = join(root, 'b.png');
  writeFileSync(a, Buffer.from([1, 2, 3, 4]));
  writeFileSync(b, 'bee');
  const trashed = await moveToTrash([a, b]);
  assert.equal(existsSync(a), false);
  assert.equal(existsSync(b), false);
  for (const t of trashed) {
    assert.ok(t.trashedPath && existsSync(t.trashedPath), 'the file is in the trash');
    assert.ok(t.infoPath && readFileSync(t.infoPath, 'utf8').includes('[Trash Info]'));
  }
  await restoreFromTrash(trashed[0]);
  assert.deepEqual([...readFileSync(a)], [1, 2, 3, 4]);
  assert.equal(existsSync(trashed[0].trashedPath!), false);
  assert.equal(existsSync(trashed[0].infoPath!), false);
  // A new file at the old place is never overwritten by a restore.
  writeFileSync(b, 'new bee');
  await assert.rejects(restoreFromTrash(trashed[1]), /exists again/);
  assert.equal(readFileSync(b, 'utf8'), 'new bee');
});

it('after a crash, finds a file whose trash record was lost, and drops an entry whose move never happened', async () => {
  const root = tempDir();
  const a = join(root, 'a.jpg');
  writeFileSync(a, 'first');
  const since = Date.now();
  const [moved] = await moveToTrash([a]);
  // A second attempt at the same path that died after writing its info file, before the rename.
  writeFileSync(a, 'second');
  const info = join(process.env.XDG_DATA_HOME!, 'Trash', 'info', 'interrupted.trashinfo');
  const stamp = new Date(Date.now() + 1500);
  const pad = (n: number) => String(n).padStart(2, '0');
  const local = `${stamp.getFullYear()}-${pad(stamp.getMonth() + 1)}-${pad(stamp.getDate())}T${pad(stamp.getHours())}:${pad(stamp.getMinutes())}:${pad(stamp.getSeconds())}`;
  writeFileSync(info, `[Trash Info]\nPath=${encodeURI(a)}\nDeletionDate=${local}\n`);
  const found = await findInTrash(a, since);
  assert.equal(found?.trashedPath, moved.trashedPath, 'the entry whose file is there, not the newer unfinished one');
  assert.equal(existsSync(info), false, 'the unfinished entry is removed');
  assert.equal(readFileSync(found!.trashedPath!, 'utf8'), 'first');
});
