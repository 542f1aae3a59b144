/**
 * Merges `extra` (any order) into `sorted` (sorted by `cmp`), returning a new array: the few are
 * sorted and placed by binary search, the rest is copied without comparisons (a comparison-based
 * merge of 100,000 paths costs tens of milliseconds; this a fraction of one).
 */
export function mergeInto(sorted: readonly number[], extra: number[], cmp: (a: number, b: number) => number): number[] {
  extra.sort(cmp);
  const out: number[] = [];
  let from = 0;
  for (const e of extra) {
    // First position whose element comes after `e` (elements equal to `e` stay before it).
    let lo = from;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(sorted[mid], e) <= 0) lo = mid + 1;
      else hi = mid;
    }
    for (let i = from; i < lo; i++) out.push(sorted[i]);
    out.push(e);
    from = lo;
  }
  for (let i = from; i < sorted.length; i++) out.push(sorted[i]);
  return out;
}
