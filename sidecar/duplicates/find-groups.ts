import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Catalog } from '../catalog/catalog';
import { PdqIndex } from '../analyzers/pdq-index';
import { hamming, hexToHash, PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY } from '../analyzers/pdq';
import { suggestKeeper } from './keeper';
import { embeddingIndexFor } from '../vectors/registry';
import { similarShotUnits, SIMILAR_SHOT_MIN_SIMILARITY } from '../vectors/similar-shots';
import { errorMessage } from '../util/errors';
import type { DuplicateCategory, DuplicateGroup, DuplicateMember, DuplicateReport } from './types';
import { UnionFind } from '../util/union-find';

export interface FindOptions {
  /** PDQ distance that still counts as a near-duplicate (default 31). */
  maxDistance?: number;
  /** Both images need at least this PDQ quality (default 50); flat images never group. */
  minQuality?: number;
  /** Look for similar shots with the image-embedding index (default true). */
  similarShots?: boolean;
  /** Embedding cosine that still counts as a similar shot (default SIMILAR_SHOT_MIN_SIMILARITY). */
  minSimilarity?: number;
}

const NO_EMBEDDINGS_NOTE = 'similar shots need image embeddings (the mobilenet analyzer), which are not indexed yet';

function groupKey(category: DuplicateCategory, hashes: Iterable<string>): string {
  const sorted = [...new Set(hashes)].sort();
  return `${category}:${createHash('sha256').update(sorted.join(',')).digest('hex').slice(0, 24)}`;
}


/**
 * Groups the catalog's images into exact copies (same bytes), near-duplicates (PDQ within
 * `maxDistance` under any rotation or flip, both of good quality) and similar shots (image
 * embeddings within a cosine threshold, found through the vector index). Categories are never
 * mixed: a similar-shot group holds one image per exact/near group (its suggested keeper), so it
 * never pairs copies that are already grouped; flat images never group. Dismissed groups ("not
 * duplicates") are left out.
 */
export async function findDuplicateGroups(catalog: Catalog, options: FindOptions = {}): Promise<DuplicateReport> {
  const maxDistance = options.maxDistance ?? PDQ_MATCH_DISTANCE;
  const minQuality = options.minQuality ?? PDQ_MIN_QUALITY;
  const rows = await catalog.read(
    `SELECT a.id, a.rel_path, a.size, a.width, a.height, a.format, a.taken_at, a.mtime_ms, a.content_hash, a.thumb,
            p.quality, p.hash, p.dihedral
     FROM assets a LEFT JOIN pdq_hashes p ON p.asset_id = a.id
     WHERE a.status = 'ok' AND a.content_hash IS NOT NULL`,
  );
  const refRows = await catalog.read(
    `SELECT DISTINCT r.target_path, d.rel_path AS document FROM doc_references r JOIN documents d ON d.id = r.document_id`,
  );
  const referencedBy = new Map<string, string[]>();
  for (const r of refRows) {
    const list = referencedBy.get(r.target_path as string) ?? [];
    list.push(r.document as string);
    referencedBy.set(r.target_path as string, list);
  }
  const dismissed = new Set((await catalog.read('SELECT group_key FROM duplicate_dismissals')).map((r) => r.group_key as string));

  const byHash = new Map<string, DuplicateMember[]>();
  const pdqByHash = new Map<string, { quality: number; hashes: Uint8Array[] }>();
  for (const r of rows) {
    const member: DuplicateMember = {
      id: Number(r.id),
      relPath: r.rel_path as string,
      size: Number(r.size),
      width: r.width === null ? null : Number(r.width),
      height: r.height === null ? null : Number(r.height),
      format: (r.format as string | null) ?? null,
      takenAt: (r.taken_at as string | null) ?? null,
      mtimeMs: Number(r.mtime_ms),
      contentHash: r.content_hash as string,
      thumbnail: r.thumb ? join(catalog.thumbsDir, r.thumb as string) : null,
      referencedBy: referencedBy.get(r.rel_path as string) ?? [],
      distance: null,
    };
    const list = byHash.get(member.contentHash) ?? [];
    list.push(member);
    byHash.set(member.contentHash, list);
    if (r.hash && !pdqByHash.has(member.contentHash)) {
      pdqByHash.set(member.contentHash, {
        quality: Number(r.quality),
        hashes: [r.hash as string, ...(r.dihedral as string).split(',')].map(hexToHash),
      });
    }
  }

  const groups: DuplicateGroup[] = [];
  const finish = (category: DuplicateCategory, members: DuplicateMember[], hashes: Iterable<string>) => {
    const key = groupKey(category, hashes);
    if (dismissed.has(key)) return;
    const { keeper, reason } = suggestKeeper(members);
    if (category === 'exact') for (const m of members) m.distance = 0;
    else {
      const kp = pdqByHash.get(keeper.contentHash);
      for (const m of members) {
        const mp = pdqByHash.get(m.contentHash);
        m.distance = kp && mp ? Math.min(...mp.hashes.map((h) => hamming(kp.hashes[0], h))) : null;
      }
    }
    members.sort((a, b) => (a.id === keeper.id ? -1 : b.id === keeper.id ? 1 : a.relPath.localeCompare(b.relPath)));
    groups.push({
      key,
      category,
      members,
      keeperId: keeper.id,
      keeperReason: reason,
      reclaimableBytes: members.filter((m) => m.id !== keeper.id).reduce((a, m) => a + m.size, 0),
    });
  };

  for (const [hash, members] of byHash) if (members.length > 1) finish('exact', members.map((m) => ({ ...m })), [hash]);

  // Near-duplicates: one entry per distinct content, queried with all 8 orientations.
  const index = new PdqIndex<string>(pdqByHash.size);
  for (const [hash, p] of pdqByHash) index.add(hash, p.hashes[0], p.quality);
  const uf = new UnionFind();
  for (const [hash, p] of pdqByHash) {
    if (p.quality < minQuality) continue;
    for (const match of index.radiusSearchAny(p.hashes, maxDistance, { minQuality })) {
      if (match.id !== hash) uf.union(hash, match.id);
    }
  }
  const components = new Map<string, string[]>();
  for (const hash of pdqByHash.keys()) {
    const root = uf.find(hash);
    const list = components.get(root) ?? [];
    list.push(hash);
    components.set(root, list);
  }
  for (const hashes of components.values()) {
    if (hashes.length < 2) continue;
    finish('near', hashes.flatMap((h) => byHash.get(h)!.map((m) => ({ ...m }))), hashes);
  }

  const notes: string[] = [];
  if (options.similarShots !== false) {
    try {
      const index = await embeddingIndexFor(catalog);
      await index.sync();
      if (index.size === 0) notes.push(NO_EMBEDDINGS_NOTE);
      else {
        // A unit is an exact/near group (or a lone content); flat images take no part.
        const unitHashes = (unit: string) => components.get(unit) ?? [unit];
        const unitOfAsset = new Map<number, string>();
        for (const [hash, members] of byHash) {
          const p = pdqByHash.get(hash);
          if (p && p.quality < minQuality) continue;
          for (const m of members) unitOfAsset.set(m.id, uf.find(hash));
        }
        const linked = await similarShotUnits(index, (id) => unitOfAsset.get(id) ?? null, {
          minSimilarity: options.minSimilarity ?? SIMILAR_SHOT_MIN_SIMILARITY,
        });
        for (const units of linked) {
          const keepers = units.map((u) => ({ ...suggestKeeper(unitHashes(u).flatMap((h) => byHash.get(h) ?? [])).keeper }));
          finish('similar', keepers, keepers.map((m) => m.contentHash));
        }
        if (index.size < rows.length) notes.push(`similar shots cover ${index.size} of ${rows.length} images; the others have no image embedding yet`);
      }
    } catch (err) {
      notes.push(`similar shots are unavailable: ${errorMessage(err)}`);
    }
  }

  groups.sort((a, b) => b.reclaimableBytes - a.reclaimableBytes || a.key.localeCompare(b.key));
  return {
    groups,
    // Similar shots are different pictures: only copies count as reclaimable.
    reclaimableBytes: groups.reduce((a, g) => a + (g.category === 'similar' ? 0 : g.reclaimableBytes), 0),
    notes,
  };
}

/** Marks a group "not duplicates": the same set of contents is never offered again. */
export async function dismissGroup(catalog: Catalog, key: string): Promise<void> {
  const category = key.split(':')[0];
  await catalog.transact((q) =>
    q.exec('INSERT INTO duplicate_dismissals (group_key, category) VALUES ($1, $2) ON CONFLICT (group_key) DO NOTHING', [key, category]),
  );
}
