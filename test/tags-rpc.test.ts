import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectToSidecar } from '../sidecar/client/connect';
import * as protocol from '../sidecar/protocol';
import { runCli } from './helpers/cli';
import { startSidecar, waitFor } from './helpers/sidecar';
import { SHARED_DATA, tempDir } from './helpers/temp';

const NATURE = join(SHARED_DATA, 'text2image/nature');
const LFW = join(SHARED_DATA, 'faces/lfw10/images');

/** A small folder whose file names say nothing: only tags can find things. */
function makeRoot(): string {
  const root = tempDir();
  mkdirSync(join(root, 'a'));
  copyFileSync(join(NATURE, 'prairie_falcon.jpg'), join(root, 'a/img1.jpg'));
  copyFileSync(join(NATURE, 'el_torcal_rocks.jpg'), join(root, 'a/img2.jpg'));
  copyFileSync(join(NATURE, 'polemonium_reptans.jpg'), join(root, 'img3.jpg'));
  copyFileSync(join(LFW, 'Colin_Powell/Colin_Powell_0001.jpg'), join(root, 'img4.jpg'));
  copyFileSync(join(LFW, 'Tony_Blair/Tony_Blair_0001.jpg'), join(root, 'img5.jpg'));
  return root;
}

describe('tags over the sidecar protocol and the CLI', () => {
  it('search finds concepts with tag reasons, tag: filters, asset/get returns tags', async () => {
    const root = makeRoot();
    const sidecar = await startSidecar([root], ['--no-watch']);
    const c = await connectToSidecar(sidecar.handshake);
    try {
      await waitFor('indexed', async () => {
        const s = await c.connection.sendRequest(protocol.IndexStatusRequest, {});
        return s.roots[0].state === 'idle' && s.roots[0].lastRun !== null && s.roots[0].pending === 0;
      }, 60_000);
      const search = (query: string) => c.connection.sendRequest(protocol.SearchRequest, { query });

      const birds = await search('birds');
      assert.equal(birds.items[0]?.relPath, 'a/img1.jpg', JSON.stringify(birds.items));
      assert.match(birds.items[0].reasons.map((r) => r.text).join(), /tag: bird 0\.\d\d/);

      // "people" (plural, a synonym of WordNet's person) finds the two portraits, by YOLOX persons.
      const people = await search('people');
      assert.deepEqual(people.items.slice(0, 2).map((h) => h.relPath).sort(), ['img4.jpg', 'img5.jpg']);
      assert.match(people.items[0].reasons[0].text, /^tag: person 0\.\d\d$/);

      // Filters: tag:, has:, and combined with a folder.
      const tagged = await search('tag:person');
      assert.deepEqual(tagged.items.map((h) => h.relPath).sort(), ['img4.jpg', 'img5.jpg']);
      assert.deepEqual(tagged.warnings, []);
      assert.deepEqual((await search('has:bird folder:a')).items.map((h) => h.relPath), ['a/img1.jpg']);

      const details = await c.connection.sendRequest(protocol.AssetGetRequest, { root, id: birds.items[0].id });
      const names = details.tags.map((t) => t.name);
      for (const n of ['bird', 'animal']) assert.ok(names.includes(n), names.join(', '));
      const bird = details.tags.find((t) => t.name === 'bird')!;
      assert.ok(bird.score > 0.2 && bird.score <= 1 && bird.count >= 1 && bird.source === 'object', JSON.stringify(bird));
      for (let i = 1; i < details.tags.length; i++) assert.ok(details.tags[i - 1].score >= details.tags[i].score);
      // Likely tags are the confident ones (the UI shows the rest as "less likely").
      assert.ok(bird.likely);
      assert.ok(details.tags.every((t) => t.likely === t.score >= 0.15), JSON.stringify(details.tags));
      assert.ok(details.tags.some((t) => !t.likely), 'the falcon has a long tail of unlikely classes');
    } finally {
      c.close();
      await sidecar.stop();
    }
  });

  it('loupe tags prints each image with its tags; --json for one file; loupe similar', () => {
    const root = makeRoot();
    const human = runCli(['tags', root]);
    assert.equal(human.status, 0, human.stderr);
    const lines = human.stdout.trim().split('\n');
    assert.equal(lines.length, 5, human.stdout);
    const falcon = lines.find((l) => l.startsWith('a/img1.jpg: '))!;
    assert.match(falcon, /\bbird 0\.\d\d\b/);
    assert.match(falcon, /\banimal 0\.\d\d\b/);
    assert.match(lines.find((l) => l.startsWith('img4.jpg: '))!, /\bperson 0\.\d\d\b.*|necktie/);

    const json = runCli(['tags', join(LFW, 'Colin_Powell/Colin_Powell_0002.jpg'), '--json']);
    assert.equal(json.status, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { tags: Array<{ name: string; score: number; count: number }> };
    const person = parsed.tags.find((t) => t.name === 'person');
    assert.ok(person && person.score > 0.5 && person.count === 1, JSON.stringify(parsed.tags));
    assert.ok(parsed.tags.some((t) => t.name === 'necktie'), JSON.stringify(parsed.tags));

    // A photo outside the folder: Colin Powell's other portrait looks most like his indexed one.
    const similar = runCli(['similar', root, join(LFW, 'Colin_Powell/Colin_Powell_0002.jpg'), '--json', '--limit', '2']);
    assert.equal(similar.status, 0, similar.stderr);
    const hits = (JSON.parse(similar.stdout) as { items: Array<{ relPath: string }> }).items.map((h) => h.relPath);
    assert.ok(['img4.jpg', 'img5.jpg'].includes(hits[0]), hits.join(', '));
  });
});
