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
  /** Flat x,y pairs: the ends of each horizontal run of the region (enough for its convex hull). */
  ends: number[];
  count: number;
}

/** 8-connected components of map > thresh (two-pass union-find labelling, typed arrays). */
function regionsOf(map: Float32Array, w: number, h: number, thresh: number): Region[] {
  const labels = new Int32Array(w * h);
  let parent = new Int32Array(1024);
  let next = 1;
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
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      if (!(map[i] > thresh)) continue;
      let label = 0;
      if (x > 0 && labels[i - 1] !== 0) label = labels[i - 1];
      if (y > 0) {
        const up = i - w;
        if (x > 0 && labels[up - 1] !== 0) label = label === 0 ? labels[up - 1] : union(label, labels[up - 1]);
        if (labels[up] !== 0) label = label === 0 ? labels[up] : union(label, labels[up]);
        if (x < w - 1 && labels[up + 1] !== 0) label = label === 0 ? labels[up + 1] : union(label, labels[up + 1]);
      }
      if (label === 0) {
        if (next >= parent.length) {
          const grown = new Int32Array(parent.length * 2);
          grown.set(parent);
          parent = grown;
        }
        label = next++;
        parent[label] = label;
      }
      labels[i] = label;
    }
  }
  const byRoot = new Map<number, Region>();
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let x = 0;
    while (x < w) {
      const l = labels[row + x];
      if (l === 0) { x++; continue; }
      const r = find(l);
      let end = x;
      while (end + 1 < w && labels[row + end + 1] !== 0 && find(labels[row + end + 1]) === r) end++;
      let region = byRoot.get(r);
      if (!region) byRoot.set(r, (region = { ends: [], count: 0 }));
      region.count += end - x + 1;
      region.ends.push(x, y);
      if (end !== x) region.ends.push(end, y);
      x = end + 1;
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

/** Mean probability inside the quad (PaddleOCR box_score_fast: the polygon filled within its bounding box). */
function boxScore(map: Float32Array, w: number, h: number, q: Quad): number {
  const ys = q.map((p) => p[1]);
  const ymin = Math.max(0, Math.min(h - 1, Math.floor(Math.min(...ys))));
  const ymax = Math.max(0, Math.min(h - 1, Math.ceil(Math.max(...ys))));
  let sum = 0, n = 0;
  for (let y = ymin; y <= ymax; y++) {
    // The convex quad's span on this row: intersect the row with every edge.
    let lo = Infinity, hi = -Infinity;
    for (let e = 0; e < 4; e++) {
      const [x0, y0] = q[e], [x1, y1] = q[(e + 1) % 4];
      if ((y < Math.min(y0, y1)) || (y > Math.max(y0, y1))) continue;
      if (y0 === y1) { lo = Math.min(lo, x0, x1); hi = Math.max(hi, x0, x1); continue; }
      const x = x0 + ((y - y0) * (x1 - x0)) / (y1 - y0);
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    if (lo > hi) continue;
    const xa = Math.max(0, Math.ceil(lo - 1e-9)), xb = Math.min(w - 1, Math.floor(hi + 1e-9));
    const row = y * w;
    for (let x = xa; x <= xb; x++) sum += map[row + x];
    n += Math.max(0, xb - xa + 1);
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
    for (let k = 0; k < region.ends.length; k += 2) points.push([region.ends[k], region.ends[k + 1]]);
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
