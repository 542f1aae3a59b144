/**
 * Clustering quality against ground truth. `predicted[i]` is the group of item i (-1 or any
 * negative = not grouped: counted as its own singleton); `truth[i]` its true identity.
 */
export interface ClusterScores {
  pairwise: { precision: number; recall: number; f1: number };
  bcubed: { precision: number; recall: number; f1: number };
  items: number;
  groups: number;
  ungrouped: number;
}

function f1(p: number, r: number): number {
  return p + r > 0 ? (2 * p * r) / (p + r) : 0;
}

export function scoreClustering(predicted: ArrayLike<number>, truth: ArrayLike<string | number>): ClusterScores {
  const n = predicted.length;
  const pred = Array.from({ length: n }, (_, i) => (predicted[i] < 0 ? `single:${i}` : `g:${predicted[i]}`));
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const sp = pred[i] === pred[j];
      const st = truth[i] === truth[j];
      if (sp && st) tp++;
      else if (sp) fp++;
      else if (st) fn++;
    }
  }
  const count = (key: (i: number) => string) => {
    const m = new Map<string, number>();
    for (let i = 0; i < n; i++) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
    return m;
  };
  const predSize = count((i) => pred[i]);
  const truthSize = count((i) => String(truth[i]));
  const both = count((i) => `${pred[i]}\u0000${truth[i]}`);
  let bp = 0, br = 0;
  for (let i = 0; i < n; i++) {
    const c = both.get(`${pred[i]}\u0000${truth[i]}`)!;
    bp += c / predSize.get(pred[i])!;
    br += c / truthSize.get(String(truth[i]))!;
  }
  bp /= n;
  br /= n;
  const pp = tp + fp > 0 ? tp / (tp + fp) : 1;
  const pr = tp + fn > 0 ? tp / (tp + fn) : 1;
  return {
    pairwise: { precision: pp, recall: pr, f1: f1(pp, pr) },
    bcubed: { precision: bp, recall: br, f1: f1(bp, br) },
    items: n,
    groups: new Set(pred.filter((p) => p.startsWith('g:'))).size,
    ungrouped: pred.filter((p) => p.startsWith('single:')).length,
  };
}
