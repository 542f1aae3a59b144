/**
 * The arithmetic under face grouping, on small exact cases: YuNet output decoding, the least-squares
 * similarity transform used for alignment, the cannot-link rules of the clustering, and the scores
 * the benchmark reports.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ARCFACE_TEMPLATE, applySimilarity, fitSimilarity, invertSimilarity, warpAligned } from '../sidecar/faces/align';
import { densityCluster, knnGraph } from '../sidecar/faces/cluster';
import { scoreClustering } from '../sidecar/faces/metrics';
import { decodeYuNet, nms, type Detection, type Point } from '../sidecar/faces/yunet';

describe('YuNet decoding', () => {
  it('decodes one prior per cell, row-major, with score sqrt(cls*obj), exp sizes and landmark offsets', () => {
    // A 64x32 input: stride 8 -> 8x4 grid, 16 -> 4x2, 32 -> 2x1.
    const grid = (s: number) => (64 / s) * (32 / s);
    const out = { cls: [] as Float32Array[], obj: [] as Float32Array[], bbox: [] as Float32Array[], kps: [] as Float32Array[] };
    for (const s of [8, 16, 32]) {
      out.cls.push(new Float32Array(grid(s)));
      out.obj.push(new Float32Array(grid(s)));
      out.bbox.push(new Float32Array(grid(s) * 4));
      out.kps.push(new Float32Array(grid(s) * 10));
    }
    // Stride 16, row 1, col 2 -> cell 1 * 4 + 2 = 6.
    const cell = 6;
    out.cls[1][cell] = 0.81;
    out.obj[1][cell] = 1;
    out.bbox[1].set([0.5, 0.25, Math.log(2), Math.log(3)], cell * 4);
    out.kps[1].set([0, 0, 1, 0, 0.5, 0.5, 0, 1, 1, 1], cell * 10);
    out.cls[0][3] = 0.2; // below threshold: sqrt(0.2 * 0) = 0
    const [d, ...rest] = decodeYuNet(out, 64, 32, 0.6);
    assert.equal(rest.length, 0);
    assert.ok(Math.abs(d.score - 0.9) < 1e-6);
    const cx = (2 + 0.5) * 16;
    const cy = (1 + 0.25) * 16;
    assert.ok(Math.abs(d.w - 32) < 1e-4 && Math.abs(d.h - 48) < 1e-4);
    assert.ok(Math.abs(d.x - (cx - 16)) < 1e-4 && Math.abs(d.y - (cy - 24)) < 1e-4);
    assert.deepEqual(d.landmarks[0], [32, 16]);
    assert.deepEqual(d.landmarks[2], [2.5 * 16, 1.5 * 16]);
  });

  it('non-maximum suppression keeps the best of overlapping boxes', () => {
    const box = (x: number, score: number): Detection => ({ x, y: 0, w: 10, h: 10, score, landmarks: [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0]] });
    const kept = nms([box(0, 0.8), box(1, 0.9), box(30, 0.7)], 0.3);
    assert.deepEqual(kept.map((k) => k.score), [0.9, 0.7]);
  });
});

describe('alignment', () => {
  it('recovers a known rotation + scale + shift exactly, and least-squares with noise', () => {
    const t = { a: 0.8 * Math.cos(0.3), b: 0.8 * Math.sin(0.3), tx: 12, ty: -5 };
    const src: Point[] = [[100, 120], [160, 118], [130, 150], [108, 180], [152, 178]];
    const dst = src.map((p) => applySimilarity(t, p));
    const fit = fitSimilarity(src, dst);
    for (const k of ['a', 'b', 'tx', 'ty'] as const) assert.ok(Math.abs(fit[k] - t[k]) < 1e-9, k);
    const back = invertSimilarity(fit);
    const p = applySimilarity(back, applySimilarity(fit, [3, 4]));
    assert.ok(Math.abs(p[0] - 3) < 1e-9 && Math.abs(p[1] - 4) < 1e-9);
    // Landmarks that already sit on the template map onto it with the identity.
    const id = fitSimilarity(ARCFACE_TEMPLATE, ARCFACE_TEMPLATE);
    assert.ok(Math.abs(id.a - 1) < 1e-12 && Math.abs(id.b) < 1e-12 && Math.abs(id.tx) < 1e-9);
  });

  it('warps the landmarks onto the ArcFace template positions', () => {
    // A 200x200 image with a bright dot at each landmark, placed with a rotation and scale.
    const t = { a: 1.5 * Math.cos(0.4), b: 1.5 * Math.sin(0.4), tx: 40, ty: 20 };
    const lm = ARCFACE_TEMPLATE.map((p) => applySimilarity(t, p));
    const rgb = Buffer.alloc(200 * 200 * 3);
    for (const [x, y] of lm) {
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) rgb.fill(255, ((Math.round(y) + dy) * 200 + Math.round(x) + dx) * 3, ((Math.round(y) + dy) * 200 + Math.round(x) + dx) * 3 + 3);
    }
    const crop = warpAligned({ rgb, rgbWidth: 200, rgbHeight: 200 }, lm);
    for (const [x, y] of ARCFACE_TEMPLATE) assert.ok(crop[(Math.round(y) * 112 + Math.round(x)) * 3] > 200, `dot at ${x},${y}`);
  });
});

describe('grouping constraints', () => {
  const unit = (v: number[]) => {
    const n = Math.hypot(...v);
    return Float32Array.from(v, (x) => x / n);
  };
  // Two tight groups plus a bridge face between them.
  const a = [unit([1, 0.05, 0]), unit([1, -0.05, 0]), unit([1, 0, 0.05])];
  const b = [unit([0, 1, 0.05]), unit([0.05, 1, 0]), unit([0, 1, -0.05])];
  const params = { eps: 0.6, minPts: 2, minClusterSize: 2, minAverageSimilarity: 0.2 };

  it('never groups two faces of one photo, nor a face with a person it was rejected from', () => {
    const vectors = [...a, ...b];
    const graph = knnGraph(vectors, 5);
    const free = densityCluster(graph, params, { asset: [0, 1, 2, 3, 4, 5] }, vectors);
    assert.equal(free.labels[0], free.labels[1]);
    const linked = densityCluster(graph, params, { asset: [0, 0, 2, 3, 4, 5] }, vectors);
    assert.notEqual(linked.labels[0], linked.labels[1], 'faces 0 and 1 are in one photo');
    const rejected = densityCluster(
      graph,
      params,
      { asset: [0, 1, 2, 3, 4, 5], person: [7, -1, -1, -1, -1, -1], forbidden: [undefined, new Set([7]), undefined, undefined, undefined, undefined] },
      vectors,
    );
    assert.notEqual(rejected.labels[1], rejected.labels[0], 'face 1 is "not person 7"');
  });

  it('the average-link guard stops an in-between face from chaining two people together', () => {
    const more = (base: number[]) => [0.05, -0.05, 0.03, -0.03, 0.01, -0.01].map((e, i) => unit(base.map((v, j) => v + (j === 2 ? e : i % 2 ? e : 0))));
    const p = more([1, 0, 0]);
    const q = more([0, 1, 0]);
    const vectors = [...p, unit([1, 1, 0]), ...q];
    const graph = knnGraph(vectors, 13);
    const asset = vectors.map((_, i) => i);
    const chained = densityCluster(graph, { ...params, minAverageSimilarity: 0 }, { asset }, vectors);
    assert.equal(chained.labels[0], chained.labels[12], 'plain single-link chaining joins both people');
    const guarded = densityCluster(graph, params, { asset }, vectors);
    assert.notEqual(guarded.labels[0], guarded.labels[12]);
    assert.equal(guarded.labels[0], guarded.labels[5]);
    assert.equal(guarded.labels[7], guarded.labels[12]);
  });
});

describe('clustering scores', () => {
  it('pairwise and BCubed on a hand-checked case', () => {
    // truth: x x x y y ; predicted: {0,1} {2,3} {4}
    const s = scoreClustering([0, 0, 1, 1, -1], ['x', 'x', 'x', 'y', 'y']);
    // pairs: predicted-same (0,1) tp, (2,3) fp; truth pairs: 01 02 12 34 -> tp 1, fn 3
    assert.equal(s.pairwise.precision, 0.5);
    assert.equal(s.pairwise.recall, 0.25);
    // BCubed precision: 1, 1, 0.5, 0.5, 1 -> 0.8; recall: 2/3, 2/3, 1/3, 1/2, 1/2 -> 0.5333
    assert.ok(Math.abs(s.bcubed.precision - 0.8) < 1e-9);
    assert.ok(Math.abs(s.bcubed.recall - 8 / 15) < 1e-9);
    assert.equal(scoreClustering([3, 3, 5], ['p', 'p', 'q']).bcubed.f1, 1);
  });
});
