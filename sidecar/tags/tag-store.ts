/**
 * Reads tag evidence (labels, objects, colours) from the catalog. Concept scores are computed from
 * these stored model outputs when asked, so a vocabulary change needs no re-index.
 */
import type { Catalog } from '../catalog/catalog';
import type { TagRows } from './image-tags';

const n = (v: unknown): number => Number(v);

/** Asset ids per slice when every asset's tags are read. */
const ALL_SLICE = 20_000;

/**
 * WHERE clauses that together cover every asset with tag rows, ALL_SLICE asset ids each: reading
 * a big catalog (2 million label rows at 100,000 images) in one piece would not fit in the
 * database's memory limit.
 */
export async function everyAssetInSlices(catalog: Catalog): Promise<string[]> {
  const [range] = await catalog.read(
    `SELECT min(lo) AS lo, max(hi) AS hi FROM (SELECT min(asset_id) AS lo, max(asset_id) AS hi FROM image_labels UNION ALL SELECT min(asset_id), max(asset_id) FROM image_objects UNION ALL SELECT min(asset_id), max(asset_id) FROM image_colours)`,
  );
  if (range?.lo === null || range?.lo === undefined) return [];
  const out: string[] = [];
  for (let lo = n(range.lo); lo <= n(range.hi); lo += ALL_SLICE) out.push(`WHERE asset_id >= ${lo} AND asset_id < ${lo + ALL_SLICE}`);
  return out;
}

/** The stored labels, objects and colours of the given assets (all assets when `ids` is omitted). */

export async function readTagRows(catalog: Catalog, ids?: readonly number[]): Promise<Map<number, TagRows>> {
  const out = new Map<number, TagRows>();
  const rowsOf = (id: number): TagRows => {
    let r = out.get(id);
    if (!r) out.set(id, (r = { labels: [], objects: [], colours: [] }));
    return r;
  };
  const safe = ids ? [...new Set(ids)].filter((id) => Number.isSafeInteger(id)) : null;
  if (safe && safe.length === 0) return out;
  const wheres: string[] = [];
  if (safe) {
    for (let i = 0; i < safe.length; i += 1000) wheres.push(`WHERE asset_id IN (${safe.slice(i, i + 1000).join(', ')})`);
  } else {
    wheres.push(...(await everyAssetInSlices(catalog)));
  }
  for (const where of wheres) {
    // One JSON string per table instead of a row object per label: ~20 rows per image add up.
    const json = async (sql: string): Promise<unknown[][]> => {
      const r = await catalog.read(`SELECT CAST(to_json(list(x)) AS VARCHAR) AS j FROM (${sql})`);
      return typeof r[0]?.j === 'string' ? (JSON.parse(r[0].j) as unknown[][]) : [];
    };
    for (const [id, cls, score] of await json(`SELECT [asset_id, class_index, score] AS x FROM image_labels ${where}`)) {
      rowsOf(n(id)).labels.push({ classIndex: n(cls), score: n(score) });
    }
    for (const [id, cls, score] of await json(`SELECT [asset_id, class_index, score] AS x FROM image_objects ${where}`)) {
      rowsOf(n(id)).objects.push({ classIndex: n(cls), score: n(score) });
    }
    for (const [id, colour, share] of await json(`SELECT [CAST(asset_id AS VARCHAR), colour, CAST(share AS VARCHAR)] AS x FROM image_colours ${where}`)) {
      rowsOf(n(id)).colours.push({ colour: String(colour), share: n(share) });
    }
  }
  return out;
}
