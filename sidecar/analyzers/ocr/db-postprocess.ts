/**
 * DB (Differentiable Binarization) post-processing as PaddleOCR's DBPostProcess does it:
 * binarise the probability map at `thresh`, take each connected region, fit its minimum-area
 * rectangle, score it by the mean probability inside ("fast" mode), drop weak or tiny boxes,
 * unclip by area * ratio / perimeter, and scale back to the source size. Written without OpenCV:
 * 8-connected components stand in for findContours' outer contours (same point set for the hull),
 * and unclipping a rectangle by a rounded offset then taking the min-area rectangle is exactly
 * growing the rectangle by the offset on every side.
 */

export type Point = [number, number];
/** Corners in reading order: top-left, top-right, bottom-right, bottom-left. */
export type Quad = [Point, Point, Point, Point];

export interface DbOptions {
  /** Binarisation threshold of the probability map (PaddleOCR det_db_thresh). */
  thresh: number;
  /** Minimum mean probability inside a box (det_db_box_thresh). */
  boxThresh: number;
  /** Offset ratio (det_db_unclip_ratio). */
  unclipRatio: number;
  /** Regions considered at most (max_candidates); the largest are kept. */
  maxCandidates: number;
  minSize: number;
}

export const DEFAULT_DB_OPTIONS: DbOptions = { thresh: 0.3, boxThresh: 0.6, unclipRatio: 1.5, maxCandidates: 1000, minSize: 3 };

export interface DbBox {
  quad: Quad;
  score: number;
}

export interface DbResult {
  boxes: DbBox[];
  /** Regions found before the candidate cap (more than maxCandidates means some were left out). */
  regions: number;
}

interface Region {
  /** For each row the region spans: leftmost and rightmost x (enough for the convex hull). */
  rowMin: Map<number, number>;
  rowMax: Map<number, number>;
  count: number;
}

/** 8-connected components of map > thresh, as row extents (two-pass union-find labelling). */
function regionsOf(map: Float32Array, w: number, h: number, thresh: number): Region[] {
  const labels = new Int32Array(w * h);
  const parent: number[] = [0];
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]];
      a = parent[a];
    }
    return a;
  };
  const union = (a: number, b: number): number => {
    const ra = find(a), rb = find(b);
    if (ra === rb) return ra;
    if (ra < rb) { parent[rb] = ra; return ra; }
    parent[ra] = rb;
    return rb;
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!(map[i] > thresh)) continue;
      let label = 0;
      const neighbours = [
        x > 0 ? labels[i - 1] : 0,
        y > 0 && x > 0 ? labels[i - w - 1] : 0,
        y > 0 ? labels[i - w] : 0,
        y > 0 && x < w - 1 ? labels[i - w + 1] : 0,
      ];
      for (const n of neighbours) {
        if (n === 0) continue;
        label = label === 0 ? find(n) : union(label, n);
      }
      if (label === 0) {
        label = parent.length;
        parent.push(label);
      }
      labels[i] = label;
    }
  }
  const byRoot = new Map<number, Region>();
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const l = labels[y * w + x];
      if (l === 0) continue;
      const r = find(l);
      let region = byRoot.get(r);
      if (!region) {
        region = { rowMin: new Map(), rowMax: new Map(), count: 0 };
        byRoot.set(r, region);
      }
      region.count++;
      if (!region.rowMin.has(y)) region.rowMin.set(y, x);
      region.rowMax.set(y, x);
    }
  }
  return [...byRoot.values()];
}

function cross(o: Point, a: Point, b: Point): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

/** Andrew's monotone chain; counter-clockwise in image coordinates (y down). */
export function convexHull(points: Point[]): Point[] {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length <= 2) return pts;
  const lower: Point[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

export interface RotatedRect {
  cx: number;
  cy: number;
  /** Side lengths along the unit axis (ux, uy) and its normal. */
  w: number;
  h: number;
  ux: number;
  uy: number;
}

/** Minimum-area enclosing rectangle of a point set (rotating calipers over the hull). */
export function minAreaRect(points: Point[]): RotatedRect {
  const hull = convexHull(points);
  if (hull.length === 1) return { cx: hull[0][0], cy: hull[0][1], w: 0, h: 0, ux: 1, uy: 0 };
  let best: RotatedRect | null = null;
  let bestArea = Infinity;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i], b = hull[(i + 1) % hull.length];
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (len === 0) continue;
    const ux = (b[0] - a[0]) / len, uy = (b[1] - a[1]) / len;
    let minU = Infinity, maxU = -Infinity, minV = Infinity, maxV = -Infinity;
    for (const p of hull) {
      const u = p[0] * ux + p[1] * uy;
      const v = -p[0] * uy + p[1] * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea - 1e-9) {
      bestArea = area;
      const cu = (minU + maxU) / 2, cv = (minV + maxV) / 2;
      best = { cx: cu * ux - cv * uy, cy: cu * uy + cv * ux, w: maxU - minU, h: maxV - minV, ux, uy };
    }
  }
  return best ?? { cx: hull[0][0], cy: hull[0][1], w: 0, h: 0, ux: 1, uy: 0 };
}

/** The rectangle's corners ordered like PaddleOCR's get_mini_boxes: tl, tr, br, bl. */
export function rectCorners(r: RotatedRect): Quad {
  const hx = (r.w / 2) * r.ux, hy = (r.w / 2) * r.uy;
  const vx = (r.h / 2) * -r.uy, vy = (r.h / 2) * r.ux;
  const pts: Point[] = [
    [r.cx - hx - vx, r.cy - hy - vy],
    [r.cx + hx - vx, r.cy + hy - vy],
    [r.cx + hx + vx, r.cy + hy + vy],
    [r.cx - hx + vx, r.cy - hy + vy],
  ];
  pts.sort((a, b) => a[0] - b[0]);
  const [i1, i4] = pts[1][1] > pts[0][1] ? [0, 1] : [1, 0];
  const [i2, i3] = pts[3][1] > pts[2][1] ? [2, 3] : [3, 2];
  return [pts[i1], pts[i2], pts[i3], pts[i4]];
}

function insideQuad(q: Quad, x: number, y: number): boolean {
  // Convex polygon: the point is on the same side of every edge (or on one).
  let sign = 0;
  for (let i = 0; i < 4; i++) {
    const c = cross(q[i], q[(i + 1) % 4], [x, y]);
    if (c === 0) continue;
    const s = c > 0 ? 1 : -1;
    if (sign === 0) sign = s;
    else if (s !== sign) return false;
  }
  return true;
}

/** Mean probability inside the quad (PaddleOCR box_score_fast: the polygon filled within its bounding box). */
function boxScore(map: Float32Array, w: number, h: number, q: Quad): number {
  const xs = q.map((p) => p[0]), ys = q.map((p) => p[1]);
  const xmin = Math.max(0, Math.min(w - 1, Math.floor(Math.min(...xs))));
  const xmax = Math.max(0, Math.min(w - 1, Math.ceil(Math.max(...xs))));
  const ymin = Math.max(0, Math.min(h - 1, Math.floor(Math.min(...ys))));
  const ymax = Math.max(0, Math.min(h - 1, Math.ceil(Math.max(...ys))));
  let sum = 0, n = 0;
  for (let y = ymin; y <= ymax; y++) {
    for (let x = xmin; x <= xmax; x++) {
      if (!insideQuad(q, x, y)) continue;
      sum += map[y * w + x];
      n++;
    }
  }
  return n === 0 ? 0 : sum / n;
}

/**
 * Boxes from a probability map of size mapW x mapH, scaled to destW x destH (the image the map was
 * computed for, before its resize to a multiple of 32).
 */
export function dbPostprocess(
  map: Float32Array,
  mapW: number,
  mapH: number,
  destW: number,
  destH: number,
  options: DbOptions = DEFAULT_DB_OPTIONS,
): DbResult {
  const regions = regionsOf(map, mapW, mapH, options.thresh);
  const kept = regions.length > options.maxCandidates
    ? [...regions].sort((a, b) => b.count - a.count).slice(0, options.maxCandidates)
    : regions;
  const sx = destW / mapW, sy = destH / mapH;
  const boxes: DbBox[] = [];
  for (const region of kept) {
    const points: Point[] = [];
    for (const [y, x0] of region.rowMin) {
      points.push([x0, y]);
      const x1 = region.rowMax.get(y) ?? x0;
      if (x1 !== x0) points.push([x1, y]);
    }
    const rect = minAreaRect(points);
    if (Math.min(rect.w, rect.h) < options.minSize) continue;
    const score = boxScore(map, mapW, mapH, rectCorners(rect));
    if (score < options.boxThresh) continue;
    // pyclipper's rounded offset of a rectangle by d, then its min-area rectangle: the rectangle grown by d per side.
    const d = (rect.w * rect.h * options.unclipRatio) / (2 * (rect.w + rect.h));
    const grown: RotatedRect = { ...rect, w: rect.w + 2 * d, h: rect.h + 2 * d };
    if (Math.min(grown.w, grown.h) < options.minSize + 2) continue;
    const quad = rectCorners(grown).map(([x, y]) => [
      Math.min(destW, Math.max(0, Math.round(x * sx))),
      Math.min(destH, Math.max(0, Math.round(y * sy))),
    ] as Point) as Quad;
    // filter_tag_det_res: boxes thinner than 4 px after clipping are noise.
    const bw = Math.hypot(quad[1][0] - quad[0][0], quad[1][1] - quad[0][1]);
    const bh = Math.hypot(quad[3][0] - quad[0][0], quad[3][1] - quad[0][1]);
    if (bw <= 3 || bh <= 3) continue;
    boxes.push({ quad, score });
  }
  return { boxes, regions: regions.length };
}
