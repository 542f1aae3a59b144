import assert from 'node:assert/strict';
import { cpSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { Catalog } from '../sidecar/catalog/catalog';
import { dismissGroup, findDuplicateGroups } from '../sidecar/duplicates/find-groups';
import { indexRoot } from '../sidecar/pipeline/indexer';
import type { DuplicateReport } from '../sidecar/duplicates/types';
import { writeFile } from './fixtures/images';
import { SHARED_DATA, tempDir } from './helpers/temp';

const PDQ = join(SHARED_DATA, 'pdq/data');
const UKBENCH = join(SHARED_DATA, 'near-duplicates/imagededup');

describe('duplicate detection on real photos', () => {
  let root: string;
  let report: DuplicateReport;

  before(async () => {
    root = tempDir();
    cpSync(join(PDQ, 'bridge-mods'), join(root, 'bridge/edits'), { recursive: true });
    cpSync(join(PDQ, 'reg-test-input/dih'), join(root, 'bridge/turned'), { recursive: true });
    mkdirSync(join(root, 'ukbench'), { recursive: true });
    for (const f of ['ukbench00120.jpg', 'ukbench00120_hflip.jpg', 'ukbench00120_resize.jpg', 'ukbench00120_rotation.jpg', 'ukbench09268.jpg']) {
      copyFileSync(join(UKBENCH, 'mixed_images', f), join(root, 'ukbench', f));
    }
    cpSync(join(PDQ, 'reg-test-input/labelme-subset'), join(root, 'unrelated'), { recursive: true });
    // Exact copies of one unrelated photo, in three places.
    copyFileSync(join(root, 'unrelated/q0122.jpg'), join(root, 'q0122 copy.jpg'));
    mkdirSync(join(root, 'copies'), { recursive: true });
    copyFileSync(join(root, 'unrelated/q0122.jpg'), join(root, 'copies/q0122 (1).jpg'));
    const black = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#000' } }).png().toBuffer();
    writeFile(join(root, 'flat/black.png'), black);
    writeFile(join(root, 'flat/black-2.png'), await sharp(black).resize(150, 100).png().toBuffer());
    writeFile(join(root, 'README.md'), '![bridge](bridge/edits/blur-a-little.jpg)\n');
    const catalog = await Catalog.open(root);
    try {
      await indexRoot(catalog);
      report = await findDuplicateGroups(catalog);
    } finally {
      catalog.close();
    }
  });

  const groupOf = (path: string, category: string) => report.groups.find((g) => g.category === category && g.members.some((m) => m.relPath === path));

  it('groups every edit, rotation and flip of the bridge photo as one near-duplicate group', () => {
    const group = groupOf('bridge/edits/aaa-orig.jpg', 'near');
    assert.ok(group, 'the bridge photo has a group');
    const paths = group.members.map((m) => m.relPath);
    for (const f of ['blur-a-lot.jpg', 'sharpen-a-lot.jpg', 'shrink-a-lot.jpg', 'square-128x128.jpg', 'high-contrast.jpg']) {
      assert.ok(paths.includes(`bridge/edits/${f}`), `${f} is in the bridge group`);
    }
    for (const f of ['bridge-2-rotate-90.jpg', 'bridge-5-flipx.jpg', 'bridge-8-flip-minus-1.jpg']) {
      assert.ok(paths.includes(`bridge/turned/${f}`), `${f} (rotated/flipped) is in the bridge group`);
    }
    assert.ok(!paths.some((p) => p.startsWith('unrelated/')), 'no unrelated photo joins');
    const keeper = group.members.find((m) => m.id === group.keeperId)!;
    assert.match(group.keeperReason, /largest (resolution|file)/);
    assert.ok(group.members.every((m) => (m.width ?? 0) * (m.height ?? 0) <= (keeper.width ?? 0) * (keeper.height ?? 0)));
    assert.ok(group.members.every((m) => m.distance !== null && m.distance <= 31));
    assert.deepEqual(group.members.find((m) => m.relPath === 'bridge/edits/blur-a-little.jpg')?.referencedBy, ['README.md']);
  });

  it('groups the UKBench flip and resize with their original, and nothing else', () => {
    const group = groupOf('ukbench/ukbench00120.jpg', 'near');
    assert.ok(group);
    // The "_rotation" copy is turned by about 30 degrees and cropped: not a PDQ copy (a similar shot).
    assert.deepEqual(
      group.members.map((m) => m.relPath).sort(),
      ['ukbench/ukbench00120.jpg', 'ukbench/ukbench00120_hflip.jpg', 'ukbench/ukbench00120_resize.jpg'],
    );
    assert.equal(groupOf('ukbench/ukbench09268.jpg', 'near'), undefined);
  });

  it('finds exact copies as their own category, with reclaimable bytes', () => {
    const exact = groupOf('copies/q0122 (1).jpg', 'exact');
    assert.ok(exact);
    assert.deepEqual(exact.members.map((m) => m.relPath).sort(), ['copies/q0122 (1).jpg', 'q0122 copy.jpg', 'unrelated/q0122.jpg']);
    assert.equal(groupOf('copies/q0122 (1).jpg', 'near')?.members.length ?? 0, 0, 'identical files are not also reported as near-duplicates of each other alone');
    assert.equal(exact.reclaimableBytes, exact.members[0].size * 2);
    assert.ok(report.reclaimableBytes >= exact.reclaimableBytes);
    assert.ok(report.groups.every((g) => g.category !== 'near' || g.members.length >= 2));
  });

  it('never groups flat images (PDQ quality below 50)', () => {
    assert.equal(groupOf('flat/black.png', 'near'), undefined);
  });

  it('a dismissed group ("not duplicates") does not come back', async () => {
    const catalog = await Catalog.open(root);
    try {
      const group = groupOf('ukbench/ukbench00120.jpg', 'near')!;
      await dismissGroup(catalog, group.key);
      const again = await findDuplicateGroups(catalog);
      assert.ok(!again.groups.some((g) => g.key === group.key));
      assert.ok(again.groups.some((g) => g.members.some((m) => m.relPath === 'bridge/edits/aaa-orig.jpg')));
    } finally {
      catalog.close();
    }
  });
});

describe('duplicate detection on awkward files', () => {
  it('indexes 1x1, 16-bit and CMYK images; deep and CMYK copies still group, a 1x1 never does', async () => {
    const root = tempDir();
    const photo = join(SHARED_DATA, 'text2image/nature/wood_anemones.jpg');
    copyFileSync(photo, join(root, 'anemones.jpg'));
    writeFile(join(root, 'anemones-16bit.png'), await sharp(photo).toColourspace('rgb16').png().toBuffer());
    writeFile(join(root, 'anemones-cmyk.jpg'), await sharp(photo).toColourspace('cmyk').jpeg().toBuffer());
    writeFile(join(root, 'dot.png'), await sharp({ create: { width: 1, height: 1, channels: 3, background: '#f00' } }).png().toBuffer());
    writeFile(join(root, 'dot-copy.png'), await sharp({ create: { width: 1, height: 1, channels: 3, background: '#0f0' } }).png().toBuffer());
    const catalog = await Catalog.open(root);
    try {
      await indexRoot(catalog);
      const summary = await catalog.summary();
      assert.equal(summary.errors, 0, JSON.stringify(summary.failures));
      assert.equal(summary.ok, 5);
      const report = await findDuplicateGroups(catalog);
      const near = report.groups.find((g) => g.category === 'near');
      assert.deepEqual(near?.members.map((m) => m.relPath).sort(), ['anemones-16bit.png', 'anemones-cmyk.jpg', 'anemones.jpg']);
      assert.ok(!report.groups.some((g) => g.members.some((m) => m.relPath.startsWith('dot'))));
    } finally {
      catalog.close();
    }
  });
});
