/**
 * Faces and people on real photos with the real models (onnxruntime-node, YuNet, MobileFaceNet):
 * detection counts and boxes (EXIF rotation included), grouping LFW identities, cannot-link,
 * and the user's corrections surviving a re-cluster and a re-index.
 */
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { Catalog } from '../sidecar/catalog/catalog';
import { pdqAnalyzer } from '../sidecar/analyzers/pdq-analyzer';
import type { Analyzer } from '../sidecar/pipeline/analyzer';
import { indexRoot } from '../sidecar/pipeline/indexer';
import { ModelResolver } from '../sidecar/models/resolver';
import { createFaceAnalyzer } from '../sidecar/faces/analyzer';
import { FaceLibrary } from '../sidecar/faces/library';
import { loadFaceModels, type FaceModels } from '../sidecar/faces/load';
import { scoreClustering } from '../sidecar/faces/metrics';
import { iou } from '../sidecar/faces/yunet';
import type { FaceInfo } from '../sidecar/faces/types';
import { SHARED_DATA, SHARED_MODELS, tempDir } from './helpers/temp';

const LFW = join(SHARED_DATA, 'faces/lfw10/images');
const PORTRAITS = join(SHARED_DATA, 'faces/portraits');
const HELD_OUT = 'George_W_Bush/George_W_Bush_0010.jpg';

let models: FaceModels;
let facesAnalyzer: Analyzer;

before(async () => {
  // Tests resolve the real weights through the product's resolver, from the shared folder only.
  models = await loadFaceModels({ resolver: new ModelResolver({ modelsDir: process.env.LOUPE_MODELS_DIR || SHARED_MODELS }), download: false });
  facesAnalyzer = createFaceAnalyzer(models.detector, models.embedder);
});

/** The labelled LFW face: LFW crops are centred on the person they are named after. */
function isLabelled(f: FaceInfo): boolean {
  const cx = f.box.x + f.box.w / 2 - 125;
  const cy = f.box.y + f.box.h / 2 - 125;
  return Math.hypot(cx, cy) < 30 && f.box.w > 50;
}

const identity = (f: FaceInfo) => f.relPath.split('/')[1];

describe('face detection on real photos', () => {
  let faces: Map<string, FaceInfo[]>;
  let sizes: Map<string, [number, number]>;

  before(async () => {
    const root = tempDir();
    copyFileSync(join(PORTRAITS, 'portrait.jpg'), join(root, 'portrait.jpg'));
    copyFileSync(join(PORTRAITS, 'portrait-orientation-6.jpg'), join(root, 'portrait-orientation-6.jpg'));
    const catalog = await Catalog.open(root);
    try {
      await indexRoot(catalog, { analyzers: [facesAnalyzer] });
      const lib = await FaceLibrary.open(catalog);
      faces = new Map();
      sizes = new Map();
      for (const name of ['portrait.jpg', 'portrait-orientation-6.jpg']) {
        const asset = (await catalog.getAssetByPath(name))!;
        faces.set(name, await lib.facesOfAsset(asset.id));
        sizes.set(name, [asset.width!, asset.height!]);
      }
    } finally {
      catalog.close();
    }
  });

  it('finds both people in the Curie portrait (frontal and profile), also when it is stored rotated (EXIF 6)', () => {
    // DATA.md says "one face each", but the photo shows Marie (frontal) and Pierre Curie (profile).
    for (const name of ['portrait.jpg', 'portrait-orientation-6.jpg']) {
      assert.equal(faces.get(name)!.length, 2, `${name}: two faces`);
      assert.deepEqual(sizes.get(name), [840, 700], `${name} is 840x700 as displayed`);
    }
  });

  it('puts the boxes on the faces in displayed (rotated) coordinates', () => {
    const upright = faces.get('portrait.jpg')!;
    const rotated = faces.get('portrait-orientation-6.jpg')!;
    for (const f of upright) {
      const twin = rotated.find((r) => iou(r.box, f.box) > 0.8);
      assert.ok(twin, `the face at ${JSON.stringify(f.box)} is at the same place in the EXIF-rotated file`);
    }
    // Marie Curie: face around x 270-360, y 160-280 of the displayed photo, eyes level and above the mouth.
    for (const list of [upright, rotated]) {
      const marie = list.reduce((a, b) => (a.score > b.score ? a : b));
      const cx = marie.box.x + marie.box.w / 2;
      const cy = marie.box.y + marie.box.h / 2;
      assert.ok(cx > 270 && cx < 360 && cy > 160 && cy < 290, `Marie's box centre (${cx}, ${cy})`);
      const [eyeL, eyeR, nose, mouthL, mouthR] = marie.landmarks;
      assert.ok(eyeL[0] < eyeR[0] && Math.abs(eyeL[1] - eyeR[1]) < 10, 'eyes side by side: the face is upright');
      assert.ok(nose[1] > eyeL[1] && mouthL[1] > nose[1] && mouthR[1] > nose[1], 'eyes above nose above mouth');
      for (const [x, y] of marie.landmarks) {
        assert.ok(x >= marie.box.x && x <= marie.box.x + marie.box.w && y >= marie.box.y && y <= marie.box.y + marie.box.h);
      }
      assert.ok(marie.usable && marie.score > 0.85);
    }
  });

  it('finds small faces in a wide group shot (second, finer pass)', async () => {
    // 30 real one-person photos shrunk to 40 px (faces ~16 px) on a 1440-px wide "group photo".
    const files: string[] = [];
    for (const p of ['George_W_Bush', 'Donald_Rumsfeld', 'Jacques_Chirac']) for (const f of readdirSync(join(LFW, p)).sort()) files.push(join(LFW, p, f));
    const tiles = await Promise.all(
      files.slice(0, 30).map(async (f, i) => ({ input: await sharp(f).resize(40, 40).toBuffer(), left: (i % 15) * 96 + 2, top: Math.floor(i / 15) * 60 + 10 })),
    );
    const { data, info } = await sharp({ create: { width: 1440, height: 140, channels: 3, background: '#6a7a5a' } })
      .composite(tiles)
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const image = { rgb: data, rgbWidth: info.width, rgbHeight: info.height };
    const found = await models.detector.detect(image);
    const overviewOnly = await models.detector.detect(image, { detailPassFactor: Infinity });
    assert.ok(found.length >= 29 && found.length <= 31, `${found.length} of 30 small faces found`);
    assert.ok(overviewOnly.length < 15, `a single 640-px pass finds only ${overviewOnly.length}`);
    // Each face lies in its own tile.
    const tilesHit = new Set(found.map((d) => `${Math.floor((d.x + d.w / 2) / 96)}:${Math.floor((d.y + d.h / 2) / 60)}`));
    assert.ok(tilesHit.size >= 29);
  });
});

describe('people from LFW (10 people x 10 photos)', () => {
  let root: string;
  let catalog: Catalog;
  let lib: FaceLibrary;

  const analyzers = () => [pdqAnalyzer, facesAnalyzer];
  const all = async () => {
    const out: FaceInfo[] = [];
    for (const a of await catalog.findAssets(`status = 'ok'`, [])) out.push(...(await lib.facesOfAsset(a.id)));
    return out;
  };
  const faceOf = async (relPath: string) => {
    const asset = await catalog.getAssetByPath(relPath);
    assert.ok(asset, relPath);
    return (await lib.facesOfAsset(asset.id)).filter(isLabelled);
  };

  before(async () => {
    root = tempDir();
    cpSync(LFW, join(root, 'lfw'), { recursive: true });
    rmSync(join(root, 'lfw', HELD_OUT));
    // Cannot-link: two different photos of one man pasted side by side into one picture.
    const [a, b] = await Promise.all(
      ['George_W_Bush_0002.jpg', 'George_W_Bush_0003.jpg'].map((f) => sharp(join(LFW, 'George_W_Bush', f)).toBuffer()),
    );
    mkdirSync(join(root, 'collage'), { recursive: true });
    await sharp({ create: { width: 500, height: 250, channels: 3, background: '#808080' } })
      .composite([{ input: a, left: 0, top: 0 }, { input: b, left: 250, top: 0 }])
      .jpeg({ quality: 92 })
      .toFile(join(root, 'collage', 'bush-twice.jpg'));
    catalog = await Catalog.open(root);
    const summary = await indexRoot(catalog, { analyzers: analyzers() });
    assert.equal(summary.failed, 0);
    lib = await FaceLibrary.open(catalog);
  });

  after(() => catalog?.close());

  it('finds the named person in every photo, and the right number of faces in photos checked by eye', async () => {
    const faces = await all();
    const lfw = faces.filter((f) => f.relPath.startsWith('lfw/'));
    const labelled = new Map<string, number>();
    for (const f of lfw) if (isLabelled(f)) labelled.set(f.relPath, (labelled.get(f.relPath) ?? 0) + 1);
    assert.equal(labelled.size, 99, 'every photo has its centred face');
    assert.ok([...labelled.values()].every((n) => n === 1));
    const count = (p: string) => lfw.filter((f) => f.relPath === `lfw/${p}`).length;
    // Counted by looking at the photos: people with a visible face, background crowds excluded.
    const expected: Record<string, number> = {
      'Tony_Blair/Tony_Blair_0001.jpg': 2,
      'Arnold_Schwarzenegger/Arnold_Schwarzenegger_0005.jpg': 2, // with Maria Shriver
      'Arnold_Schwarzenegger/Arnold_Schwarzenegger_0007.jpg': 2, // with Maria Shriver
      'Colin_Powell/Colin_Powell_0010.jpg': 3,
      'Ariel_Sharon/Ariel_Sharon_0009.jpg': 3,
    };
    for (const p of readdirSync(join(LFW, 'George_W_Bush'))) if (`George_W_Bush/${p}` !== HELD_OUT) expected[`George_W_Bush/${p}`] = 1;
    for (const p of readdirSync(join(LFW, 'Donald_Rumsfeld'))) expected[`Donald_Rumsfeld/${p}`] = 1;
    for (const p of readdirSync(join(LFW, 'Jacques_Chirac'))) expected[`Jacques_Chirac/${p}`] = 1;
    for (const [p, n] of Object.entries(expected)) assert.equal(count(p), n, `${p}: ${n} face(s)`);
    // Blurry faces in the crowd behind Putin are kept (visible) but never grouped.
    const crowd = lfw.filter((f) => f.relPath.endsWith('Vladimir_Putin_0007.jpg') && !isLabelled(f));
    assert.ok(crowd.length >= 3 && crowd.every((f) => !f.usable && f.personId === null));
  });

  it('groups the LFW identities without supervision (BCubed F1 >= 0.95, no two people mixed)', async (t) => {
    const labelled = (await all()).filter((f) => f.relPath.startsWith('lfw/') && isLabelled(f));
    const scores = scoreClustering(
      labelled.map((f) => f.personId ?? -1),
      labelled.map(identity),
    );
    t.diagnostic(`pairwise P ${scores.pairwise.precision.toFixed(3)} R ${scores.pairwise.recall.toFixed(3)}; BCubed F1 ${scores.bcubed.f1.toFixed(3)}; ${scores.groups} groups, ${scores.ungrouped} ungrouped`);
    assert.ok(scores.bcubed.f1 >= 0.95, `BCubed F1 ${scores.bcubed.f1}`);
    assert.ok(scores.pairwise.precision >= 0.99, `pairwise precision ${scores.pairwise.precision}`);
    const clusters = (await lib.listPeople()).filter((p) => p.kind === 'cluster');
    assert.ok(clusters.length >= 10 && clusters.length <= 12, `${clusters.length} clusters`);
  });

  it('never puts two faces of one photo in the same person (cannot-link)', async () => {
    const asset = (await catalog.getAssetByPath('collage/bush-twice.jpg'))!;
    const faces = await lib.facesOfAsset(asset.id);
    assert.equal(faces.length, 2);
    const bush = (await faceOf('lfw/George_W_Bush/George_W_Bush_0001.jpg'))[0];
    assert.ok(bush.personId !== null);
    const withBush = faces.filter((f) => f.personId === bush.personId);
    // Both faces are Bush's; only one of them may join him.
    assert.equal(withBush.length, 1, 'exactly one face of the collage is with the Bush cluster');
    assert.ok(!(faces[0].personId !== null && faces[0].personId === faces[1].personId));
    await lib.recluster();
    const again = await lib.facesOfAsset(asset.id);
    assert.ok(!(again[0].personId !== null && again[0].personId === again[1].personId), 'not after a full re-cluster either');
  });

  it('naming one face names its cluster: the others become suggestions with a confidence', async () => {
    const named = (await faceOf('lfw/Tony_Blair/Tony_Blair_0003.jpg'))[0];
    const person = await lib.nameFace(named.id, 'Tony Blair');
    assert.equal(person.name, 'Tony Blair');
    assert.equal(person.kind, 'person');
    assert.equal(person.confirmedCount, 1);
    assert.ok(person.suggestedCount >= 8, `${person.suggestedCount} suggestions`);
    const details = (await lib.getPerson(person.id))!;
    assert.ok(details.faces.every((f) => identity(f) === 'Tony_Blair'));
    const suggestions = await lib.suggestions({ personId: person.id });
    assert.equal(suggestions.length, person.suggestedCount);
    assert.ok(suggestions.every((s) => s.confidence > 0 && s.confidence <= 1 && s.personName === 'Tony Blair'));
    // Search filter "photos with Tony Blair".
    const photos = await lib.assetsWithPeople([person.id]);
    assert.equal(photos.size, person.photoCount);
    assert.equal((await lib.findPeopleByName('tony blair'))[0].id, person.id);
    // The search engine's person: and has:faces filters.
    const ctx = {} as never;
    for (const q of ['tony blair', 'tony', `#${person.id}`]) {
      assert.deepEqual([...(await lib.personFilter().match(q, ctx))].sort(), [...photos].sort(), `person:${q}`);
    }
    assert.equal([...(await lib.personFilter().match('nobody', ctx))].length, 0);
    assert.equal([...(await lib.facesFilter().match(null, ctx))].length, 100, 'every photo has a face');
    await assert.rejects(lib.nameFace(987654, 'Nobody'), /no face with id 987654/);
    await assert.rejects(lib.nameFace(named.id, '  '), /cannot be empty/);
  });

  it('rejecting a suggestion is remembered: after a re-cluster, a re-index and an edit of the file', async () => {
    const blair = (await lib.findPeopleByName('Tony Blair'))[0];
    const target = (await faceOf('lfw/Tony_Blair/Tony_Blair_0005.jpg'))[0];
    assert.equal(target.personId, blair.id);
    assert.equal(target.status, 'suggested');
    const after1 = await lib.rejectSuggestion(target.id);
    assert.notEqual(after1.personId, blair.id);

    await lib.recluster();
    const after2 = (await faceOf('lfw/Tony_Blair/Tony_Blair_0005.jpg'))[0];
    assert.notEqual(after2.personId, blair.id, 'not back after a full re-cluster');
    assert.ok((await lib.getPerson(blair.id))!.suggestedCount >= 7, 'the other suggestions stay');

    // Re-index the same bytes (what an analyzer version bump does): new face rows, new ids.
    await catalog.rawQuery(`UPDATE assets SET analyzer_versions = '{}' WHERE rel_path = 'lfw/Tony_Blair/Tony_Blair_0005.jpg'`);
    const run = await indexRoot(catalog, { analyzers: analyzers() });
    assert.equal(run.processed, 1);
    const after3 = (await faceOf('lfw/Tony_Blair/Tony_Blair_0005.jpg'))[0];
    assert.notEqual(after3.id, target.id, 'the face was detected again');
    assert.notEqual(after3.personId, blair.id, 'not back after a re-index');

    // Edit the file (re-encoded: new bytes, new content hash): the decision follows path + box + face.
    const file = join(root, 'lfw/Tony_Blair/Tony_Blair_0005.jpg');
    const edited = await sharp(file).modulate({ brightness: 1.05 }).jpeg({ quality: 90 }).toBuffer();
    await sharp(edited).toFile(file);
    await indexRoot(catalog, { analyzers: analyzers() });
    const after4 = (await faceOf('lfw/Tony_Blair/Tony_Blair_0005.jpg'))[0];
    assert.notEqual(after4.personId, blair.id, 'not back after the file was edited');
    await lib.recluster();
    assert.notEqual((await faceOf('lfw/Tony_Blair/Tony_Blair_0005.jpg'))[0].personId, blair.id);
  });

  it('a confirmation survives a re-index too', async () => {
    const blair = (await lib.findPeopleByName('Tony Blair'))[0];
    await catalog.rawQuery(`UPDATE assets SET analyzer_versions = '{}' WHERE rel_path = 'lfw/Tony_Blair/Tony_Blair_0003.jpg'`);
    await indexRoot(catalog, { analyzers: analyzers() });
    const face = (await faceOf('lfw/Tony_Blair/Tony_Blair_0003.jpg'))[0];
    assert.equal(face.personId, blair.id);
    assert.equal(face.status, 'confirmed');
  });

  it('splits a person and merges it back; both survive a full re-cluster', async () => {
    const chirac = (await faceOf('lfw/Jacques_Chirac/Jacques_Chirac_0001.jpg'))[0];
    const cluster = (await lib.getPerson(chirac.personId!))!;
    assert.equal(cluster.kind, 'cluster');
    assert.equal(cluster.faceCount, 10);
    const moved = cluster.faces.slice(0, 4).map((f) => f.id);
    const split = await lib.split(cluster.id, moved, 'Chirac (2)');
    assert.equal(split.confirmedCount, 4);
    const rest = (await lib.getPerson(cluster.id))!;
    assert.equal(rest.kind, 'person', 'the faces that stayed are the user\'s now');
    assert.equal(rest.confirmedCount, 6);
    await lib.recluster();
    assert.equal((await lib.getPerson(split.id))!.faceCount, 4);
    assert.equal((await lib.getPerson(cluster.id))!.faceCount, 6);

    const merged = await lib.merge([split.id], cluster.id);
    assert.equal(merged.confirmedCount, 10);
    assert.equal(await lib.getPerson(split.id), null);
    await lib.namePerson(cluster.id, 'Jacques Chirac');
    await lib.recluster();
    const after = (await lib.getPerson(cluster.id))!;
    assert.equal(after.name, 'Jacques Chirac');
    assert.equal(after.confirmedCount, 10);
  });

  it('one wrong confirmation does not cascade, and is undone by resetting the face', async () => {
    const chirac = (await lib.findPeopleByName('Jacques Chirac'))[0];
    const wrong = (await faceOf('lfw/Donald_Rumsfeld/Donald_Rumsfeld_0001.jpg'))[0];
    const rumsfeldCluster = wrong.personId!;
    assert.equal((await lib.getPerson(rumsfeldCluster))!.faceCount, 10);
    await lib.assignFace(wrong.id, chirac.id); // the user slips
    const check = async () => {
      const chiracFaces = (await lib.getPerson(chirac.id))!.faces;
      assert.deepEqual(chiracFaces.filter((f) => identity(f) !== 'Jacques_Chirac').map((f) => f.id), [wrong.id], 'only the face moved');
      const other = (await faceOf('lfw/Donald_Rumsfeld/Donald_Rumsfeld_0002.jpg'))[0];
      assert.ok(other.personId !== null && other.personId !== chirac.id);
      assert.equal((await lib.getPerson(other.personId))!.faceCount, 9, "Rumsfeld's other photos stay together");
    };
    await check();
    await lib.recluster();
    await check();
    const undone = await lib.resetFace(wrong.id);
    const other = (await faceOf('lfw/Donald_Rumsfeld/Donald_Rumsfeld_0002.jpg'))[0];
    assert.equal(undone.personId, other.personId, 'back with the other Rumsfeld photos');
  });

  it('naming a whole cluster confirms its faces; a face can be moved between people', async () => {
    const putin = (await faceOf('lfw/Vladimir_Putin/Vladimir_Putin_0001.jpg'))[0];
    const named = await lib.namePerson(putin.personId!, 'Vladimir Putin');
    assert.equal(named.confirmedCount, 10);
    const chirac = (await lib.findPeopleByName('Jacques Chirac'))[0];
    await lib.assignFace(putin.id, chirac.id);
    assert.equal((await lib.getFace(putin.id))!.personId, chirac.id);
    assert.equal((await lib.getPerson(named.id))!.confirmedCount, 9);
    await lib.assignFace(putin.id, named.id);
    assert.equal((await lib.getPerson(named.id))!.confirmedCount, 10);
    assert.equal((await lib.getPerson(chirac.id))!.confirmedCount, 10);
  });

  it('assigns a new photo of a named person incrementally (no re-cluster)', async () => {
    const bushFace = (await faceOf('lfw/George_W_Bush/George_W_Bush_0001.jpg'))[0];
    const bush = await lib.nameFace(bushFace.id, 'George W. Bush');
    copyFileSync(join(LFW, HELD_OUT), join(root, 'lfw', HELD_OUT));
    await indexRoot(catalog, { analyzers: analyzers() });
    const report = await lib.update();
    assert.equal(report.added, 1);
    assert.equal(report.suggested, 1);
    const face = (await faceOf(`lfw/${HELD_OUT}`))[0];
    assert.equal(face.personId, bush.id);
    assert.equal(face.status, 'suggested');
    assert.ok((face.confidence ?? 0) > 0.5);
    const both = await lib.assetsWithPeople([bush.id, (await lib.findPeopleByName('Tony Blair'))[0].id]);
    assert.equal(both.size, 0, 'no photo shows Bush and Blair together');
  });

  it('deletes all face data of the root and stops detecting faces there', async () => {
    const counts = await lib.deleteAllFaceData();
    assert.ok(counts.faces > 100 && counts.people >= 10 && counts.decisions > 0);
    assert.equal((await lib.listPeople()).length, 0);
    assert.equal(lib.enabled, false);
    const off = createFaceAnalyzer(models.detector, models.embedder, { isEnabled: () => lib.enabled });
    await catalog.rawQuery(`UPDATE assets SET analyzer_versions = '{}' WHERE rel_path = 'lfw/Tony_Blair/Tony_Blair_0001.jpg'`);
    await indexRoot(catalog, { analyzers: [pdqAnalyzer, off] });
    assert.equal(Number((await catalog.rawQuery('SELECT count(*) AS n FROM faces'))[0].n), 0);
    const reopened = await FaceLibrary.open(catalog);
    assert.equal(reopened.enabled, false);
    // Turning faces back on queues every photo for the faces analyzer again.
    const queued = await reopened.enableFaces();
    assert.ok(queued >= 100);
    assert.equal(reopened.enabled, true);
    const versions = { [pdqAnalyzer.name]: pdqAnalyzer.version, [facesAnalyzer.name]: facesAnalyzer.version };
    assert.ok((await catalog.assetsNeedingWork(versions)).length >= 100);
  });
});
