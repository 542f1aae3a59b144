/**
 * People in one root: grouping faces into people, incrementally, and learning from the user.
 *
 * Sources of truth (catalog, migration 5):
 * - `faces`: one row per detected face, written by the `faces` analyzer and replaced whenever the
 *   asset is re-indexed (new ids). This class fills in its person_id / status / confidence.
 * - `people`: named people and unnamed clusters.
 * - `face_decisions`: what the user said about a face (confirm as person P, reject from P,
 *   ignore). Keyed by the photo's content hash + the face box as a fraction of the image (and,
 *   after the file was edited, by path + box + embedding), never by face id, so decisions
 *   re-attach to the re-detected faces after a re-index.
 *
 * How faces become people:
 * - Confirmed faces (and only those) are the reference set. A person's score for a face is the
 *   mean of its k best similarities to that person's confirmed faces (k = min(3, ceil(n/2))),
 *   so one wrongly confirmed face cannot pull in look-alikes on its own.
 * - A face is suggested for person P when that score is high (>= aloneThreshold) or, inside a
 *   density group holding P's confirmed faces, at least groupThreshold; in both cases it must
 *   beat every other person by `margin`. Suggestions never act as references.
 * - Faces that match no person form or join unnamed clusters (constrained DBSCAN*, cluster.ts).
 * - Cannot-link: two faces of one photo are never one person; a face rejected from P never
 *   goes back to P (in incremental assignment and in a full re-cluster).
 *
 * All public methods first pick up face rows the indexer added or removed (`update`), so every
 * answer is current; calling `update()` after an index batch just does that work earlier.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import type { Catalog, SqlRunner } from '../catalog/catalog';
import type { FilterProvider } from '../search/types';
import { Mutex } from '../util/mutex';
import { densityCluster, dot, knnGraph, type Clustering, type DensityParams } from './cluster';
import { EMBEDDING_DIM } from './embedder';
import type { AssignReport, FaceBox, FaceInfo, FaceStatus, PersonDetails, PersonSummary, Suggestion } from './types';
import { FaceVectorIndex } from './vector-index';
import { iou } from './yunet';
import { FACES_ANALYZER, listLiteral } from './analyzer';

export interface PeopleParams extends DensityParams {
  /** Neighbours looked at per face when grouping. */
  knn: number;
  /** Person score needed inside a density group that holds the person's confirmed faces. */
  groupThreshold: number;
  /** Person score needed without group support. */
  aloneThreshold: number;
  /** Lead the best person needs over the second best. */
  margin: number;
  /** Box IoU for a decision to re-attach to a re-detected face of the same content. */
  decisionIou: number;
  /** At least this many new faces at once (and half the library) are grouped together, not one by one. */
  bulkThreshold: number;
}

/** Chosen on LFW (test/bench/faces.ts reports the sweep); see the reply notes in the bench file. */
export const DEFAULT_PEOPLE_PARAMS: PeopleParams = {
  eps: 0.6,
  minPts: 3,
  minClusterSize: 2,
  minAverageSimilarity: 0.2,
  knn: 16,
  groupThreshold: 0.25,
  aloneThreshold: 0.45,
  margin: 0.1,
  decisionIou: 0.5,
  bulkThreshold: 50,
};

const META_ENABLED = 'faces.enabled';

/** Whether faces are on for this root (off after deleteAllFaceData), without opening a FaceLibrary. */
export async function facesEnabled(catalog: Catalog): Promise<boolean> {
  return (await catalog.getMeta(META_ENABLED)) !== '0';
}

type DecisionKind = 'confirm' | 'reject' | 'ignore';

interface DecisionRec {
  id: number;
  kind: DecisionKind;
  personId: number | null;
  contentHash: string;
  relPath: string;
  box: FaceBox;
  vector: Float32Array | null;
}

interface FaceRec {
  id: number;
  assetId: number;
  faceIndex: number;
  relPath: string;
  contentHash: string;
  imageWidth: number;
  imageHeight: number;
  box: FaceBox;
  landmarks: Array<[number, number]>;
  score: number;
  sharpness: number;
  size: number;
  usable: boolean;
  vector: Float32Array | null;
  personId: number | null;
  status: FaceStatus | null;
  confidence: number | null;
  /** From decisions: the person the user confirmed, people it was rejected from, ignored. */
  confirmedAs: number | null;
  forbidden: Set<number>;
  ignored: boolean;
}

interface PersonRec {
  id: number;
  name: string | null;
  /** Named or edited by the user: kept even when it has no faces at the moment. */
  curated: boolean;
}

interface Proposal {
  personId: number | null;
  status: FaceStatus;
  confidence: number | null;
  /** Set instead when the face should start a new cluster with these loose neighbours. */
  formWith?: number[];
}

interface PersonScore {
  personId: number;
  score: number;
}

type JsRow = Record<string, unknown>;

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : (v as number);
}

function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

function toVector(v: unknown): Float32Array | null {
  if (v === null || v === undefined) return null;
  return Float32Array.from(v as number[]);
}

/** P(same person) for a similarity, centred where LFW same/different distributions cross. */
function pSame(s: number, centre: number): number {
  return 1 / (1 + Math.exp(-(s - centre) / 0.05));
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export interface FaceLibraryOptions {
  params?: Partial<PeopleParams>;
}

export class FaceLibrary {
  readonly params: PeopleParams;
  private readonly lock = new Mutex();
  private readonly faces = new Map<number, FaceRec>();
  private readonly byAsset = new Map<number, Set<number>>();
  private readonly persons = new Map<number, PersonRec>();
  /** Faces per person (any status). */
  private readonly members = new Map<number, Set<number>>();
  /** Usable confirmed faces with an embedding, per person: the reference set. */
  private readonly confirmedOf = new Map<number, Set<number>>();
  private readonly confirmedIndex = new FaceVectorIndex();
  /** Every usable face with an embedding that is not ignored. */
  private readonly allIndex = new FaceVectorIndex();
  /** Sum of the usable members' vectors per person/cluster: average-link guard. */
  private readonly groupSums = new Map<number, { sum: Float64Array; n: number }>();
  private decisions: DecisionRec[] = [];
  private readonly decisionsByHash = new Map<string, DecisionRec[]>();
  private readonly decisionsByPath = new Map<string, DecisionRec[]>();
  private readonly dirty = new Set<number>();
  private maxFaceId = 0;
  private lastSeenMax = 0;
  /** Faces assigned one by one since the last time everything was grouped together. */
  private addedSinceRegroup = 0;
  private enabledFlag = true;

  private constructor(
    readonly catalog: Catalog,
    params: PeopleParams,
  ) {
    this.params = params;
  }

  /** Loads the root's faces, people and decisions, and assigns any face not assigned yet. */
  static async open(catalog: Catalog, options: FaceLibraryOptions = {}): Promise<FaceLibrary> {
    const lib = new FaceLibrary(catalog, { ...DEFAULT_PEOPLE_PARAMS, ...options.params });
    await lib.lock.run(async () => {
      lib.enabledFlag = await facesEnabled(catalog);
      await lib.loadPeople();
      await lib.loadDecisions();
      await lib.syncLocked();
    });
    return lib;
  }

  /** False once the user deleted the face data of this root (pass to the analyzer's isEnabled). */
  get enabled(): boolean {
    return this.enabledFlag;
  }

  // ---------------------------------------------------------------------------------------------
  // Loading and syncing with the faces table
  // ---------------------------------------------------------------------------------------------

  private async loadPeople(): Promise<void> {
    this.persons.clear();
    for (const r of await this.catalog.read('SELECT id, name, curated FROM people')) {
      this.persons.set(num(r.id), { id: num(r.id), name: (r.name as string | null) ?? null, curated: r.curated === true });
    }
  }

  private async loadDecisions(): Promise<void> {
    const rows = await this.catalog.read(
      `SELECT id, kind, person_id, content_hash, rel_path, box_x, box_y, box_w, box_h, embedding FROM face_decisions ORDER BY id`,
    );
    this.decisions = [];
    this.decisionsByHash.clear();
    this.decisionsByPath.clear();
    for (const r of rows) this.indexDecision(this.rowToDecision(r));
  }

  private rowToDecision(r: JsRow): DecisionRec {
    return {
      id: num(r.id),
      kind: r.kind as DecisionKind,
      personId: numOrNull(r.person_id),
      contentHash: r.content_hash as string,
      relPath: r.rel_path as string,
      box: { x: r.box_x as number, y: r.box_y as number, w: r.box_w as number, h: r.box_h as number },
      vector: toVector(r.embedding),
    };
  }

  private indexDecision(d: DecisionRec): void {
    this.decisions.push(d);
    const add = (map: Map<string, DecisionRec[]>, key: string) => {
      let list = map.get(key);
      if (!list) map.set(key, (list = []));
      list.push(d);
    };
    add(this.decisionsByHash, d.contentHash);
    add(this.decisionsByPath, d.relPath);
  }

  private rebuildDecisionIndexes(): void {
    const all = this.decisions;
    this.decisions = [];
    this.decisionsByHash.clear();
    this.decisionsByPath.clear();
    for (const d of all) this.indexDecision(d);
  }

  private rowToFace(r: JsRow): FaceRec {
    const lm = (r.landmarks as number[] | null) ?? [];
    const landmarks: Array<[number, number]> = [];
    for (let i = 0; i + 1 < lm.length; i += 2) landmarks.push([lm[i], lm[i + 1]]);
    return {
      id: num(r.id),
      assetId: num(r.asset_id),
      faceIndex: num(r.face_index),
      relPath: r.rel_path as string,
      contentHash: (r.content_hash as string | null) ?? '',
      imageWidth: num(r.width ?? 0) || 1,
      imageHeight: num(r.height ?? 0) || 1,
      box: { x: r.x as number, y: r.y as number, w: r.w as number, h: r.h as number },
      landmarks,
      score: r.score as number,
      sharpness: r.sharpness as number,
      size: r.size as number,
      usable: r.usable === true && r.embedding !== null,
      vector: toVector(r.embedding),
      personId: numOrNull(r.person_id),
      status: (r.status as FaceStatus | null) ?? null,
      confidence: numOrNull(r.confidence),
      confirmedAs: null,
      forbidden: new Set(),
      ignored: false,
    };
  }

  /**
   * Picks up face rows the indexer added or removed since the last call, re-attaches the user's
   * decisions to re-detected faces, and assigns new faces to people or clusters (incremental:
   * never a full re-cluster). Cheap when nothing changed (one count query).
   */
  async update(): Promise<AssignReport> {
    return this.lock.run(() => this.syncLocked());
  }

  private async syncLocked(): Promise<AssignReport> {
    const started = performance.now();
    const report: AssignReport = { added: 0, removed: 0, confirmed: 0, suggested: 0, clustered: 0, unassigned: 0, durationMs: 0 };
    const head = await this.catalog.read(
      'SELECT count(*) AS n, coalesce(max(id), 0) AS m, count(*) FILTER (WHERE id <= $1) AS old FROM faces',
      [this.maxFaceId],
    );
    const count = num(head[0].n);
    const max = num(head[0].m);
    if (count === this.faces.size && max === this.lastSeenMax) {
      report.durationMs = performance.now() - started;
      return report;
    }
    this.lastSeenMax = max;
    // Removed rows (asset changed, deleted, or re-analysed): only looked for when some are missing.
    if (this.faces.size > 0 && num(head[0].old) !== this.faces.size) {
      const ids = await this.catalog.read('SELECT id FROM faces WHERE id <= $1', [this.maxFaceId]);
      const present = new Set(ids.map((r) => num(r.id)));
      for (const id of [...this.faces.keys()]) {
        if (!present.has(id)) {
          this.dropFace(id);
          report.removed++;
        }
      }
    }
    // New rows.
    const fresh: FaceRec[] = [];
    if (max > this.maxFaceId) {
      const rows = await this.catalog.read(
        `SELECT f.id, f.asset_id, f.face_index, f.x, f.y, f.w, f.h, f.landmarks, f.score, f.sharpness, f.size, f.usable,
                f.embedding, f.person_id, f.status, f.confidence, a.content_hash, a.rel_path, a.width, a.height
         FROM faces f JOIN assets a ON a.id = f.asset_id WHERE f.id > $1 ORDER BY f.id`,
        [this.maxFaceId],
      );
      for (const r of rows) fresh.push(this.rowToFace(r));
      this.maxFaceId = max;
    }
    const loadedAssigned: FaceRec[] = [];
    const toAssign: FaceRec[] = [];
    for (const f of fresh) {
      this.faces.set(f.id, f);
      let set = this.byAsset.get(f.assetId);
      if (!set) this.byAsset.set(f.assetId, (set = new Set()));
      set.add(f.id);
      if (f.status === null) toAssign.push(f);
      else loadedAssigned.push(f);
    }
    // Faces assigned in an earlier session: restore their state as stored.
    const assets = new Set(fresh.map((f) => f.assetId));
    for (const a of assets) this.attachDecisions(a);
    // One bulk insert into the vector index (much faster than one by one).
    const indexable = fresh.filter((f) => f.usable && f.vector && !f.ignored && !this.allIndex.has(f.id));
    this.allIndex.addMany(indexable.map((f) => f.id), indexable.map((f) => f.vector!));
    for (const f of loadedAssigned) {
      const { personId, status, confidence } = f;
      f.personId = null;
      f.status = null;
      if (personId !== null && this.persons.has(personId)) this.setState(f, personId, status!, confidence, false);
      else this.setState(f, null, status === 'ignored' ? 'ignored' : 'unassigned', null, personId !== null);
    }
    report.added = fresh.length;
    // Many new faces at once (the first index of a root, a big import): group them all together,
    // which does not depend on the order they arrived in. Otherwise one by one.
    const bulk = toAssign.length >= Math.max(this.params.bulkThreshold, this.faces.size / 2);
    if (!bulk) await this.assignIncremental(toAssign, report);
    this.addedSinceRegroup = bulk ? 0 : this.addedSinceRegroup + toAssign.length;
    this.dissolveTinyClusters();
    await this.catalog.transact(async (q) => {
      if (bulk) {
        await this.regroup(q, [...this.faces.values()]);
        this.countStates(toAssign, report);
      }
      await this.applyPendingDeletes(q);
      await this.flush(q);
    });
    report.durationMs = performance.now() - started;
    return report;
  }

  private dropFace(id: number): void {
    const f = this.faces.get(id);
    if (!f) return;
    this.setState(f, null, 'unassigned', null, false);
    this.dirty.delete(id);
    this.allIndex.remove(id);
    this.faces.delete(id);
    const set = this.byAsset.get(f.assetId);
    set?.delete(id);
    if (set && set.size === 0) this.byAsset.delete(f.assetId);
  }

  // ---------------------------------------------------------------------------------------------
  // Decisions <-> faces
  // ---------------------------------------------------------------------------------------------

  private normBox(f: FaceRec): FaceBox {
    return { x: f.box.x / f.imageWidth, y: f.box.y / f.imageHeight, w: f.box.w / f.imageWidth, h: f.box.h / f.imageHeight };
  }

  /** Re-derives confirmedAs / forbidden / ignored for the faces of one asset from the decisions. */
  private attachDecisions(assetId: number): void {
    const ids = this.byAsset.get(assetId);
    if (!ids || ids.size === 0) return;
    const faces = [...ids].map((id) => this.faces.get(id)!);
    for (const f of faces) {
      f.confirmedAs = null;
      f.forbidden = new Set();
      f.ignored = false;
    }
    const { contentHash, relPath } = faces[0];
    const candidates = new Map<number, DecisionRec>();
    for (const d of this.decisionsByHash.get(contentHash) ?? []) candidates.set(d.id, d);
    for (const d of this.decisionsByPath.get(relPath) ?? []) candidates.set(d.id, d);
    if (candidates.size === 0) return;
    const latest = new Map<number, DecisionRec>(); // face id -> latest confirm/ignore
    for (const d of [...candidates.values()].sort((a, b) => a.id - b.id)) {
      let best: FaceRec | null = null;
      let bestIou = 0;
      for (const f of faces) {
        const o = iou(this.normBox(f), d.box);
        if (o > bestIou) {
          bestIou = o;
          best = f;
        }
      }
      if (!best) continue;
      const sameContent = d.contentHash === contentHash;
      const ok = sameContent
        ? bestIou >= this.params.decisionIou
        : bestIou >= 0.3 && d.vector !== null && best.vector !== null && dot(d.vector, best.vector) >= 0.6;
      if (!ok) continue;
      if (d.kind === 'reject' && d.personId !== null) best.forbidden.add(d.personId);
      else latest.set(best.id, d);
    }
    for (const [faceId, d] of latest) {
      const f = this.faces.get(faceId)!;
      if (d.kind === 'ignore') f.ignored = true;
      else if (d.personId !== null && !f.forbidden.has(d.personId) && this.persons.has(d.personId)) f.confirmedAs = d.personId;
    }
  }

  private async writeDecision(q: SqlRunner, f: FaceRec, kind: DecisionKind, personId: number | null): Promise<void> {
    await this.withPaths([f], q);
    const box = this.normBox(f);
    // A new confirm/ignore replaces this face's earlier confirm/ignore; a reject replaces the
    // same reject, and removes a confirm for that person.
    const same = this.decisionsForFace(f).filter((d) =>
      kind === 'reject' ? (d.kind === 'reject' && d.personId === personId) || (d.kind === 'confirm' && d.personId === personId) : d.kind !== 'reject',
    );
    if (kind !== 'reject') {
      // Confirming as P also withdraws an earlier "not P".
      for (const d of this.decisionsForFace(f)) if (d.kind === 'reject' && d.personId === personId) same.push(d);
    }
    for (const d of same) await q.exec('DELETE FROM face_decisions WHERE id = $1', [d.id]);
    const gone = new Set(same.map((d) => d.id));
    this.decisions = this.decisions.filter((d) => !gone.has(d.id));
    const rows = await q.all(
      `INSERT INTO face_decisions (kind, person_id, content_hash, rel_path, box_x, box_y, box_w, box_h, embedding)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      [kind, personId, f.contentHash, f.relPath, box.x, box.y, box.w, box.h, f.vector ? listLiteral(f.vector) : null],
    );
    this.decisions.push({ id: num(rows[0].id), kind, personId, contentHash: f.contentHash, relPath: f.relPath, box, vector: f.vector });
    this.rebuildDecisionIndexes();
    this.attachDecisions(f.assetId);
  }

  /** Decisions that currently attach to this face (same content and box). */
  private decisionsForFace(f: FaceRec): DecisionRec[] {
    const box = this.normBox(f);
    return (this.decisionsByHash.get(f.contentHash) ?? []).filter((d) => iou(box, d.box) >= this.params.decisionIou);
  }

  // ---------------------------------------------------------------------------------------------
  // State bookkeeping
  // ---------------------------------------------------------------------------------------------

  private setState(f: FaceRec, personId: number | null, status: FaceStatus, confidence: number | null, markDirty = true): void {
    const wasRef = f.status === 'confirmed' && f.personId !== null && f.usable && f.vector !== null;
    if (f.personId !== null) {
      this.members.get(f.personId)?.delete(f.id);
      if (f.usable && f.vector) {
        const g = this.groupSums.get(f.personId);
        if (g) {
          for (let i = 0; i < g.sum.length; i++) g.sum[i] -= f.vector[i];
          g.n--;
        }
      }
      if (wasRef) {
        this.confirmedOf.get(f.personId)?.delete(f.id);
        this.confirmedIndex.remove(f.id);
      }
    }
    f.personId = personId;
    f.status = status;
    f.confidence = confidence === null ? null : round3(confidence);
    if (personId !== null) {
      let m = this.members.get(personId);
      if (!m) this.members.set(personId, (m = new Set()));
      m.add(f.id);
      if (f.usable && f.vector) {
        let g = this.groupSums.get(personId);
        if (!g) this.groupSums.set(personId, (g = { sum: new Float64Array(EMBEDDING_DIM), n: 0 }));
        for (let i = 0; i < g.sum.length; i++) g.sum[i] += f.vector[i];
        g.n++;
      }
      if (status === 'confirmed' && f.usable && f.vector) {
        let c = this.confirmedOf.get(personId);
        if (!c) this.confirmedOf.set(personId, (c = new Set()));
        c.add(f.id);
        this.confirmedIndex.add(f.id, f.vector);
      }
    }
    if (f.ignored || !f.usable || !f.vector) this.allIndex.remove(f.id);
    else if (!this.allIndex.has(f.id)) this.allIndex.add(f.id, f.vector);
    if (markDirty) this.dirty.add(f.id);
  }

  private groupAverage(personId: number, v: Float32Array): number {
    const g = this.groupSums.get(personId);
    if (!g || g.n === 0) return 0;
    let s = 0;
    for (let i = 0; i < v.length; i++) s += g.sum[i] * v[i];
    return s / g.n;
  }

  /** Writes changed face states to the catalog (one statement). */
  private async flush(q?: SqlRunner): Promise<void> {
    if (this.dirty.size === 0) return;
    const rows = [...this.dirty]
      .map((id) => this.faces.get(id))
      .filter((f): f is FaceRec => f !== undefined)
      .map((f) => ({ id: f.id, p: f.personId, s: f.status, c: f.confidence }));
    this.dirty.clear();
    const sql = `UPDATE faces SET person_id = v.p, status = v.s, confidence = v.c
      FROM (SELECT unnest(from_json($1::JSON, '[{"id":"BIGINT","p":"BIGINT","s":"VARCHAR","c":"DOUBLE"}]'), recursive := true)) v
      WHERE faces.id = v.id`;
    if (q) await q.exec(sql, [JSON.stringify(rows)]);
    else await this.catalog.transact((t) => t.exec(sql, [JSON.stringify(rows)]));
  }

  private async newPerson(q: SqlRunner, name: string | null, curated: boolean): Promise<PersonRec> {
    const rows = await q.all('INSERT INTO people (name, curated) VALUES ($1, $2) RETURNING id', [name, curated]);
    const p = { id: num(rows[0].id), name, curated };
    this.persons.set(p.id, p);
    return p;
  }

  /** Rows for n new unnamed clusters, in one statement. */
  private async newClusters(q: SqlRunner, n: number): Promise<number[]> {
    if (n <= 0) return [];
    const rows = await q.all('INSERT INTO people (curated) SELECT false FROM range($1) RETURNING id', [n]);
    const ids = rows.map((r) => num(r.id));
    for (const id of ids) this.persons.set(id, { id, name: null, curated: false });
    return ids;
  }

  private async deletePerson(q: SqlRunner, id: number): Promise<void> {
    await q.exec('DELETE FROM people WHERE id = $1', [id]);
    this.persons.delete(id);
    this.members.delete(id);
    this.groupSums.delete(id);
    this.confirmedOf.delete(id);
  }

  /** Unnamed clusters left with fewer than minClusterSize faces dissolve; empty ones are deleted. */
  private dissolveTinyClusters(): number[] {
    const gone: number[] = [];
    for (const p of this.persons.values()) {
      if (p.curated) continue;
      const m = this.members.get(p.id);
      if (m && m.size >= this.params.minClusterSize) continue;
      for (const id of [...(m ?? [])]) this.setState(this.faces.get(id)!, null, 'unassigned', null);
      gone.push(p.id);
    }
    this.pendingPersonDeletes.push(...gone);
    return gone;
  }

  private pendingPersonDeletes: number[] = [];

  private async applyPendingDeletes(q: SqlRunner): Promise<void> {
    const ids = [...new Set(this.pendingPersonDeletes.splice(0))].filter(
      (id) => this.persons.has(id) && !this.persons.get(id)!.curated && (this.members.get(id)?.size ?? 0) === 0,
    );
    for (let i = 0; i < ids.length; i += 1000) {
      await q.exec(`DELETE FROM people WHERE id IN (${ids.slice(i, i + 1000).join(', ')})`);
    }
    for (const id of ids) {
      this.persons.delete(id);
      this.members.delete(id);
      this.groupSums.delete(id);
      this.confirmedOf.delete(id);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Scoring
  // ---------------------------------------------------------------------------------------------

  /** People this face may not be: rejected ones, and people confirmed on another face of its photo. */
  private excludedPersons(f: FaceRec): Set<number> {
    const out = new Set(f.forbidden);
    for (const id of this.byAsset.get(f.assetId) ?? []) {
      if (id === f.id) continue;
      const o = this.faces.get(id)!;
      if (o.confirmedAs !== null) out.add(o.confirmedAs);
      if (o.status === 'confirmed' && o.personId !== null) out.add(o.personId);
    }
    return out;
  }

  /**
   * Each candidate person's score: the k-th best similarity to its confirmed faces, k = min(3,
   * ceil(n / 2)) for n confirmed faces. So with 5 or more confirmed faces, 3 of them must agree:
   * one wrongly confirmed look-alike cannot pull its look-alikes in (no cascade).
   */
  private personScores(f: FaceRec, excluded: Set<number>): PersonScore[] {
    if (!f.vector || this.confirmedIndex.size === 0) return [];
    const candidates = new Set<number>();
    for (const n of this.confirmedIndex.search(f.vector, 48)) {
      const p = this.faces.get(n.key)?.personId;
      if (p !== null && p !== undefined && !excluded.has(p)) candidates.add(p);
    }
    const out: PersonScore[] = [];
    for (const p of candidates) {
      const refs = this.confirmedOf.get(p);
      if (!refs || refs.size === 0) continue;
      const sims: number[] = [];
      for (const id of refs) {
        const r = this.faces.get(id)!;
        if (r.assetId === f.assetId) continue;
        sims.push(dot(f.vector, r.vector!));
      }
      if (sims.length === 0) continue;
      sims.sort((a, b) => b - a);
      // "At least k of the person's confirmed faces are this similar": the k-th best similarity.
      const k = Math.min(3, Math.ceil(refs.size / 2));
      out.push({ personId: p, score: sims.length >= k ? sims[k - 1] : sims[sims.length - 1] * (sims.length / k) });
    }
    return out.sort((a, b) => b.score - a.score);
  }

  private suggestAlone(scores: PersonScore[]): Proposal | null {
    const [best, second] = scores;
    if (!best) return null;
    const s2 = second?.score ?? 0;
    if (best.score < this.params.aloneThreshold || best.score - s2 < this.params.margin) return null;
    return { personId: best.personId, status: 'suggested', confidence: pSame(best.score, 0.35) * (1 - pSame(s2, 0.35)) };
  }

  private suggestInGroup(scores: PersonScore[], personId: number): Proposal | null {
    const mine = scores.find((s) => s.personId === personId);
    if (!mine) return null;
    const other = scores.find((s) => s.personId !== personId)?.score ?? 0;
    if (mine.score < this.params.groupThreshold || mine.score - other < this.params.margin) return null;
    return { personId, status: 'suggested', confidence: pSame(mine.score, 0.2) * (1 - pSame(other, 0.35)) };
  }

  // ---------------------------------------------------------------------------------------------
  // Incremental assignment
  // ---------------------------------------------------------------------------------------------

  private personOnOtherFace(f: FaceRec, personId: number): boolean {
    for (const id of this.byAsset.get(f.assetId) ?? []) {
      if (id !== f.id && this.faces.get(id)!.personId === personId) return true;
    }
    return false;
  }

  /** Where one face goes, given the current state (it is not itself a member of anything). */
  private propose(f: FaceRec): Proposal {
    if (f.ignored) return { personId: null, status: 'ignored', confidence: null };
    if (f.confirmedAs !== null) return { personId: f.confirmedAs, status: 'confirmed', confidence: null };
    if (!f.usable || !f.vector) return { personId: null, status: 'unassigned', confidence: null };
    const excluded = this.excludedPersons(f);
    const scores = this.personScores(f, excluded);
    const alone = this.suggestAlone(scores);
    if (alone && !this.personOnOtherFace(f, alone.personId!)) return alone;

    // Density: the groups of its neighbours within eps.
    const minSim = 1 - this.params.eps;
    const neighbours = this.allIndex.search(f.vector, this.params.knn + 1).filter((n) => n.key !== f.id && n.similarity >= minSim);
    const tally = new Map<number, { count: number; best: number }>();
    const loose: number[] = [];
    for (const n of neighbours) {
      const o = this.faces.get(n.key);
      if (!o || o.assetId === f.assetId) continue;
      if (o.personId === null) {
        if (o.status === 'unassigned' || o.status === null) loose.push(o.id);
        continue;
      }
      const t = tally.get(o.personId) ?? { count: 0, best: 0 };
      t.count++;
      t.best = Math.max(t.best, n.similarity);
      tally.set(o.personId, t);
    }
    const groups = [...tally.entries()].sort((a, b) => b[1].count - a[1].count || b[1].best - a[1].best);
    for (const [g] of groups) {
      const person = this.persons.get(g);
      if (!person || excluded.has(g) || this.personOnOtherFace(f, g)) continue;
      const avg = this.groupAverage(g, f.vector);
      if (avg < (this.params.minAverageSimilarity ?? 0)) continue;
      if (person.curated) {
        const p = this.suggestInGroup(scores, g);
        if (p) return p;
        continue;
      }
      return { personId: g, status: 'clustered', confidence: avg };
    }
    // Loose neighbours (one per photo) may now be dense enough to form a new cluster.
    if (loose.length + 1 >= this.params.minPts) return { personId: null, status: 'unassigned', confidence: null, formWith: loose };
    return { personId: null, status: 'unassigned', confidence: null };
  }

  private async assignIncremental(faces: FaceRec[], report: AssignReport): Promise<void> {
    if (faces.length === 0) return;
    const byAsset = new Map<number, FaceRec[]>();
    for (const f of faces) {
      const list = byAsset.get(f.assetId) ?? [];
      list.push(f);
      byAsset.set(f.assetId, list);
    }
    const creations: Array<{ face: FaceRec; loose: number[] }> = [];
    for (const list of byAsset.values()) {
      // Confirmed and ignored faces first (they constrain the others), then by quality.
      const ordered = [...list].sort((a, b) => Number(b.confirmedAs !== null || b.ignored) - Number(a.confirmedAs !== null || a.ignored) || b.score * b.size - a.score * a.size);
      for (const f of ordered) {
        const p = this.propose(f);
        if (p.formWith) creations.push({ face: f, loose: p.formWith });
        this.setState(f, p.personId, p.status, p.confidence);
      }
    }
    if (creations.length > 0) {
      await this.catalog.transact(async (q) => {
        for (const { face, loose } of creations) {
          if (face.personId !== null) continue;
          // Grow the new cluster from the face: one face per photo, each joining only if it keeps the average similarity.
          const members = [face];
          const assets = new Set([face.assetId]);
          const sum = Float64Array.from(face.vector!);
          for (const id of loose) {
            const o = this.faces.get(id);
            if (!o || o.personId !== null || assets.has(o.assetId) || !o.vector) continue;
            let s = 0;
            for (let i = 0; i < sum.length; i++) s += sum[i] * o.vector[i];
            if (s / members.length < (this.params.minAverageSimilarity ?? 0)) continue;
            members.push(o);
            assets.add(o.assetId);
            for (let i = 0; i < sum.length; i++) sum[i] += o.vector[i];
          }
          if (members.length < Math.max(this.params.minPts, this.params.minClusterSize)) continue;
          const c = await this.newPerson(q, null, false);
          for (const m of members) this.setState(m, c.id, 'clustered', this.groupAverageAfter(sum, members.length, m.vector!));
        }
      });
    }
    this.countStates(faces, report);
  }

  private countStates(faces: Iterable<FaceRec>, report: AssignReport): void {
    for (const f of faces) {
      if (f.status === 'confirmed') report.confirmed++;
      else if (f.status === 'suggested') report.suggested++;
      else if (f.status === 'clustered') report.clustered++;
      else report.unassigned++;
    }
  }

  private groupAverageAfter(sum: Float64Array, n: number, v: Float32Array): number {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += sum[i] * v[i];
    return (s - 1) / Math.max(1, n - 1);
  }

  // ---------------------------------------------------------------------------------------------
  // (Re-)clustering a set of faces
  // ---------------------------------------------------------------------------------------------

  /**
   * Groups `faces` from scratch (with every constraint) and maps the groups onto people:
   * a group holding person P's confirmed faces proposes P to its other members (groupThreshold +
   * margin against P's confirmed faces); a group without confirmed faces is an unnamed cluster
   * (keeping the id of the old cluster it overlaps most). Faces left over get a suggestion only
   * if they are close to some person's confirmed faces on their own (aloneThreshold).
   */
  private async regroup(q: SqlRunner, faces: FaceRec[]): Promise<void> {
    for (const f of faces) this.attachDecisions(f.assetId);
    const active = faces.filter((f) => !f.ignored);
    for (const f of faces) if (f.ignored) this.setState(f, null, 'ignored', null);
    // Confirmed faces first: they are the references the others are scored against.
    for (const f of active) {
      if (f.confirmedAs !== null) this.setState(f, f.confirmedAs, 'confirmed', null);
    }
    const pool = active.filter((f) => f.usable && f.vector);
    const oldCluster = new Map<number, number>(); // face -> old unnamed cluster
    for (const f of active) {
      if (f.personId !== null && f.status === 'clustered') oldCluster.set(f.id, f.personId);
      if (f.confirmedAs === null) this.setState(f, null, 'unassigned', null);
    }
    let clustering: Clustering = { labels: new Int32Array(0), strength: new Float32Array(0), count: 0 };
    if (pool.length > 0) {
      const vectors = pool.map((f) => f.vector!);
      // Large sets reuse the live USearch index (every pool face is in it) instead of building one.
      const position = new Map(pool.map((f, i) => [f.id, i]));
      const graph = knnGraph(
        vectors,
        this.params.knn,
        pool.length > 3000
          ? {
              search: (items, k) => {
                // Faces outside the pool take places in the answers: ask for a few more.
                const extra = this.allIndex.size > pool.length ? Math.ceil(k / 2) : 0;
                return this.allIndex.searchMany(items.map((i) => vectors[i]), k + extra).map((list) => {
                  const out: Array<{ index: number; similarity: number }> = [];
                  for (const m of list) {
                    const j = position.get(m.key);
                    if (j !== undefined) out.push({ index: j, similarity: m.similarity });
                  }
                  return out;
                });
              },
            }
          : {},
      );
      clustering = densityCluster(
        graph,
        this.params,
        {
          asset: pool.map((f) => f.assetId),
          person: pool.map((f) => f.confirmedAs ?? -1),
          forbidden: pool.map((f) => f.forbidden),
        },
        vectors,
      );
    }
    const groups: FaceRec[][] = Array.from({ length: clustering.count }, () => []);
    pool.forEach((f, i) => {
      if (clustering.labels[i] >= 0) groups[clustering.labels[i]].push(f);
    });
    const leftovers: FaceRec[] = pool.filter((_, i) => clustering.labels[i] < 0 && pool[i].confirmedAs === null);
    const unnamed: FaceRec[][] = [];
    for (const g of groups) {
      const owner = g.find((f) => f.confirmedAs !== null)?.confirmedAs ?? null;
      if (owner === null) {
        unnamed.push(g);
        continue;
      }
      const rest: FaceRec[] = [];
      for (const f of g) {
        if (f.confirmedAs !== null) continue;
        const scores = this.personScores(f, this.excludedPersons(f));
        const p = this.suggestInGroup(scores, owner) ?? this.suggestAlone(scores);
        if (p) this.setState(f, p.personId, p.status, p.confidence);
        else rest.push(f);
      }
      // Faces of the group the person's confirmed faces do not vouch for stay a cluster of their
      // own (e.g. a look-alike's photos around one wrongly confirmed face).
      if (rest.length >= this.params.minClusterSize) unnamed.push(rest);
      else leftovers.push(...rest);
    }
    // Unnamed clusters keep the id of the old cluster they overlap most.
    const overlaps: Array<[number, number, number]> = [];
    unnamed.forEach((g, gi) => {
      const counts = new Map<number, number>();
      for (const f of g) {
        const old = oldCluster.get(f.id);
        if (old !== undefined) counts.set(old, (counts.get(old) ?? 0) + 1);
      }
      for (const [old, n] of counts) overlaps.push([n, gi, old]);
    });
    overlaps.sort((a, b) => b[0] - a[0]);
    const idFor = new Map<number, number>();
    const usedOld = new Set<number>();
    for (const [, gi, old] of overlaps) {
      if (idFor.has(gi) || usedOld.has(old) || !this.persons.has(old) || this.persons.get(old)!.curated) continue;
      idFor.set(gi, old);
      usedOld.add(old);
    }
    const fresh = await this.newClusters(q, unnamed.length - idFor.size);
    for (const [gi, all] of unnamed.entries()) {
      const id = idFor.get(gi) ?? fresh.pop()!;
      // A face the user took out of this very cluster ("not this one") stays out.
      const g = all.filter((f) => !f.forbidden.has(id));
      const sum = new Float64Array(EMBEDDING_DIM);
      for (const f of g) for (let i = 0; i < sum.length; i++) sum[i] += f.vector![i];
      for (const f of g) this.setState(f, id, 'clustered', this.groupAverageAfter(sum, g.length, f.vector!));
    }
    for (const f of leftovers) {
      const p = this.suggestAlone(this.personScores(f, this.excludedPersons(f)));
      if (p) this.setState(f, p.personId, p.status, p.confidence);
    }
    // One person per photo: keep the most confident suggestion.
    for (const assetId of new Set(faces.map((f) => f.assetId))) this.resolvePhotoConflicts(assetId);
    for (const old of new Set(oldCluster.values())) if (!usedOld.has(old)) this.pendingPersonDeletes.push(old);
    this.dissolveTinyClusters();
  }

  private resolvePhotoConflicts(assetId: number): void {
    const byPerson = new Map<number, FaceRec[]>();
    for (const id of this.byAsset.get(assetId) ?? []) {
      const f = this.faces.get(id)!;
      if (f.personId === null) continue;
      const list = byPerson.get(f.personId) ?? [];
      list.push(f);
      byPerson.set(f.personId, list);
    }
    for (const list of byPerson.values()) {
      if (list.length < 2) continue;
      list.sort((a, b) => Number(b.status === 'confirmed') - Number(a.status === 'confirmed') || (b.confidence ?? 0) - (a.confidence ?? 0));
      for (const f of list.slice(1)) if (f.status !== 'confirmed') this.setState(f, null, 'unassigned', null);
    }
  }

  /**
   * For the end of an index run: update(), then a full re-cluster if many faces (a quarter of the
   * library, at least bulkThreshold) were assigned one by one since the last one, so a big import
   * ends with order-independent clusters. Small additions stay incremental.
   */
  async settle(): Promise<AssignReport & { reclustered: boolean }> {
    const report = await this.update();
    const due = this.addedSinceRegroup >= Math.max(this.params.bulkThreshold, this.faces.size / 4);
    if (!due) return { ...report, reclustered: false };
    const full = await this.recluster();
    return { ...full, added: report.added + full.added, removed: report.removed + full.removed, reclustered: true };
  }

  /**
   * Full re-cluster of every face of the root, from the embeddings and the user's decisions.
   * Never needed for correctness (new photos are assigned incrementally); useful after changing
   * parameters, or to let many small corrections reshape the clusters.
   */
  async recluster(): Promise<AssignReport> {
    return this.lock.run(async () => {
      const report = await this.syncLocked();
      const started = performance.now();
      this.addedSinceRegroup = 0;
      await this.catalog.transact(async (q) => {
        await this.regroup(q, [...this.faces.values()]);
        await this.applyPendingDeletes(q);
        await this.flush(q);
      });
      this.countStates(this.faces.values(), report);
      report.durationMs += performance.now() - started;
      return report;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Queries
  // ---------------------------------------------------------------------------------------------

  /**
   * Refreshes the paths of the photos these faces are in (a moved file keeps its face rows, so
   * the path read when the rows were loaded may be old).
   */
  private async withPaths(faces: Iterable<FaceRec | null | undefined>, q?: SqlRunner): Promise<void> {
    const assets = new Set<number>();
    for (const f of faces) if (f) assets.add(f.assetId);
    const ids = [...assets];
    for (let i = 0; i < ids.length; i += 1000) {
      const sql = `SELECT id, rel_path FROM assets WHERE id IN (${ids.slice(i, i + 1000).join(', ')})`;
      const rows = q ? await q.all(sql) : await this.catalog.read(sql);
      for (const r of rows) {
        const relPath = r.rel_path as string;
        for (const id of this.byAsset.get(num(r.id)) ?? []) this.faces.get(id)!.relPath = relPath;
      }
    }
  }

  private coverOf(p: PersonRec): FaceRec | null {
    const faces = [...(this.members.get(p.id) ?? [])].map((id) => this.faces.get(id)!);
    const confirmed = faces.filter((f) => f.status === 'confirmed');
    let cover: FaceRec | null = null;
    for (const f of confirmed.length > 0 ? confirmed : faces) if (!cover || this.quality(f) > this.quality(cover)) cover = f;
    return cover;
  }

  private info(f: FaceRec): FaceInfo {
    const person = f.personId !== null ? this.persons.get(f.personId) : undefined;
    return {
      id: f.id,
      assetId: f.assetId,
      relPath: f.relPath,
      box: { x: round3(f.box.x), y: round3(f.box.y), w: round3(f.box.w), h: round3(f.box.h) },
      landmarks: f.landmarks.map(([x, y]) => [round3(x), round3(y)] as [number, number]),
      score: round3(f.score),
      sharpness: round3(f.sharpness),
      size: round3(f.size),
      usable: f.usable,
      personId: f.personId,
      personName: person?.name ?? null,
      status: f.status ?? 'unassigned',
      confidence: f.confidence,
    };
  }

  private quality(f: FaceRec): number {
    return f.score * Math.min(f.size, 160) * Math.min(f.sharpness, 300) * (f.usable ? 1 : 0.01);
  }

  private summary(p: PersonRec): PersonSummary {
    const ids = [...(this.members.get(p.id) ?? [])];
    const faces = ids.map((id) => this.faces.get(id)!);
    const confirmed = faces.filter((f) => f.status === 'confirmed');
    const suggested = faces.filter((f) => f.status === 'suggested');
    const cover = this.coverOf(p);
    return {
      id: p.id,
      name: p.name,
      kind: p.curated ? 'person' : 'cluster',
      faceCount: faces.length,
      confirmedCount: confirmed.length,
      suggestedCount: suggested.length,
      photoCount: new Set(faces.map((f) => f.assetId)).size,
      cover: cover ? this.info(cover) : null,
    };
  }

  /**
   * People (named or edited by the user) and unnamed clusters. Named people come first (most
   * photos first), then unnamed people, then clusters by size.
   */
  async listPeople(options: { includeClusters?: boolean; includeEmpty?: boolean } = {}): Promise<PersonSummary[]> {
    return this.lock.run(async () => {
      await this.syncLocked();
      await this.withPaths([...this.persons.values()].map((p) => this.coverOf(p)));
      const out: PersonSummary[] = [];
      for (const p of this.persons.values()) {
        if (!p.curated && options.includeClusters === false) continue;
        const s = this.summary(p);
        if (s.faceCount === 0 && !options.includeEmpty) continue;
        out.push(s);
      }
      const rank = (s: PersonSummary) => (s.kind === 'person' ? (s.name ? 0 : 1) : 2);
      return out.sort((a, b) => rank(a) - rank(b) || b.photoCount - a.photoCount || b.faceCount - a.faceCount || a.id - b.id);
    });
  }

  async getPerson(personId: number): Promise<PersonDetails | null> {
    return this.lock.run(async () => {
      await this.syncLocked();
      const p = this.persons.get(personId);
      if (!p) return null;
      const faces = [...(this.members.get(personId) ?? [])].map((id) => this.faces.get(id)!);
      const order = (f: FaceRec) => (f.status === 'confirmed' ? 0 : 1);
      faces.sort((a, b) => order(a) - order(b) || (b.confidence ?? 0) - (a.confidence ?? 0) || a.id - b.id);
      await this.withPaths(faces);
      return { ...this.summary(p), faces: faces.map((f) => this.info(f)) };
    });
  }

  /** People whose name matches (case-insensitive, whole name). */
  async findPeopleByName(name: string): Promise<PersonSummary[]> {
    return this.lock.run(async () => {
      await this.syncLocked();
      const wanted = name.trim().toLowerCase();
      const found = [...this.persons.values()].filter((p) => p.name?.toLowerCase() === wanted);
      await this.withPaths(found.map((p) => this.coverOf(p)));
      return found.map((p) => this.summary(p));
    });
  }

  /** The faces of one photo (for asset/get). */
  async facesOfAsset(assetId: number): Promise<FaceInfo[]> {
    return this.lock.run(async () => {
      await this.syncLocked();
      const faces = [...(this.byAsset.get(assetId) ?? [])].map((id) => this.faces.get(id)!).sort((a, b) => a.faceIndex - b.faceIndex);
      await this.withPaths(faces);
      return faces.map((f) => this.info(f));
    });
  }

  async getFace(faceId: number): Promise<FaceInfo | null> {
    return this.lock.run(async () => {
      await this.syncLocked();
      const f = this.faces.get(faceId);
      await this.withPaths([f]);
      return f ? this.info(f) : null;
    });
  }

  /** The most similar other faces (USearch), for "find this face elsewhere". */
  async similarFaces(faceId: number, limit = 20): Promise<Array<{ face: FaceInfo; similarity: number }>> {
    return this.lock.run(async () => {
      await this.syncLocked();
      const f = this.faces.get(faceId);
      if (!f?.vector) return [];
      const found = this.allIndex
        .search(f.vector, limit + 1)
        .filter((n) => n.key !== faceId && this.faces.has(n.key))
        .slice(0, limit);
      await this.withPaths(found.map((n) => this.faces.get(n.key)));
      return found.map((n) => ({ face: this.info(this.faces.get(n.key)!), similarity: round3(n.similarity) }));
    });
  }

  /**
   * Faces proposed for people, for the user to accept or reject. Most confident first (or least
   * confident first with `order: 'asc'`, to review the doubtful ones).
   */
  async suggestions(options: { personId?: number; limit?: number; minConfidence?: number; order?: 'desc' | 'asc' } = {}): Promise<Suggestion[]> {
    return this.lock.run(async () => {
      await this.syncLocked();
      const picked: FaceRec[] = [];
      for (const f of this.faces.values()) {
        if (f.status !== 'suggested' || f.personId === null) continue;
        if (options.personId !== undefined && f.personId !== options.personId) continue;
        if ((f.confidence ?? 0) < (options.minConfidence ?? 0)) continue;
        picked.push(f);
      }
      const sign = options.order === 'asc' ? 1 : -1;
      picked.sort((a, b) => sign * ((a.confidence ?? 0) - (b.confidence ?? 0)) || a.id - b.id);
      const page = picked.slice(0, options.limit ?? 200);
      await this.withPaths(page);
      return page.map((f) => ({
        face: this.info(f),
        personId: f.personId!,
        personName: this.persons.get(f.personId!)?.name ?? null,
        confidence: f.confidence ?? 0,
      }));
    });
  }

  /**
   * Photos showing every one of the given people (AND): the search filter "photos with X (and Y)".
   * Suggested faces count unless `confirmedOnly`.
   */
  async assetsWithPeople(personIds: readonly number[], options: { confirmedOnly?: boolean; minConfidence?: number } = {}): Promise<Set<number>> {
    return this.lock.run(async () => {
      await this.syncLocked();
      return this.assetsWithPeopleLocked(personIds, options);
    });
  }

  private assetsWithPeopleLocked(personIds: readonly number[], options: { confirmedOnly?: boolean; minConfidence?: number }): Set<number> {
    let result = null as Set<number> | null;
    for (const pid of new Set(personIds)) {
      const assets = new Set<number>();
      for (const id of this.members.get(pid) ?? []) {
        const f = this.faces.get(id)!;
        if (f.status === 'confirmed' || f.status === 'clustered') assets.add(f.assetId);
        else if (f.status === 'suggested' && !options.confirmedOnly && (f.confidence ?? 0) >= (options.minConfidence ?? 0)) assets.add(f.assetId);
      }
      const prev: Set<number> | null = result;
      result = prev === null ? assets : new Set([...prev].filter((a) => assets.has(a)));
    }
    return result ?? new Set();
  }

  /** Photos with at least one face (for has:faces). */
  async assetsWithFaces(): Promise<Set<number>> {
    return this.lock.run(async () => {
      await this.syncLocked();
      return new Set(this.byAsset.keys());
    });
  }

  /**
   * Providers for the search engine's `person:NAME` (name, case-insensitive, or `#id`; several
   * person: filters AND together) and `has:faces` filters:
   * `engine.registerFilterProvider(library.personFilter())`.
   */
  personFilter(): FilterProvider {
    return {
      filter: 'person',
      match: async (value) => {
        const v = (value ?? '').trim().replace(/_/g, ' ');
        let ids = /^#\d+$/.test(v) ? [Number(v.slice(1))] : (await this.findPeopleByName(v)).map((p) => p.id);
        if (ids.length === 0 && v) {
          // "person:tony" finds "Tony Blair" when no one is called just "Tony".
          const word = v.toLowerCase();
          ids = [...this.persons.values()].filter((p) => p.name?.toLowerCase().split(/\s+/).includes(word)).map((p) => p.id);
        }
        if (ids.length === 0) return new Set<number>();
        // Two people with the same name: a photo with either matches.
        const out = new Set<number>();
        for (const id of ids) for (const a of await this.assetsWithPeople([id])) out.add(a);
        return out;
      },
    };
  }

  facesFilter(): FilterProvider {
    return { filter: 'faces', match: () => this.assetsWithFaces() };
  }

  // ---------------------------------------------------------------------------------------------
  // Learning from the user
  // ---------------------------------------------------------------------------------------------

  private async freshSummary(q: SqlRunner, p: PersonRec): Promise<PersonSummary> {
    await this.withPaths([this.coverOf(p)], q);
    return this.summary(p);
  }

  private requireFace(faceId: number): FaceRec {
    const f = this.faces.get(faceId);
    if (!f) throw new FaceLibraryError('UnknownFace', `no face with id ${faceId}`);
    return f;
  }

  private requirePerson(personId: number): PersonRec {
    const p = this.persons.get(personId);
    if (!p) throw new FaceLibraryError('UnknownPerson', `no person with id ${personId}`);
    return p;
  }

  private async mutate<T>(fn: (q: SqlRunner) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      await this.syncLocked();
      return this.catalog.transact(async (q) => {
        try {
          const result = await fn(q);
          await this.applyPendingDeletes(q);
          await this.flush(q);
          return result;
        } catch (err) {
          this.pendingPersonDeletes = [];
          // Refused requests (unknown face, ...) are refused before anything changes; any other
          // failure rolls the transaction back, so memory is reloaded to match the catalog.
          if (!(err instanceof FaceLibraryError)) this.needsReload = true;
          throw err;
        }
      });
    }).finally(() => (this.needsReload ? this.reload() : undefined));
  }

  private needsReload = false;

  private async reload(): Promise<void> {
    await this.lock.run(async () => {
      this.needsReload = false;
      this.faces.clear();
      this.byAsset.clear();
      this.members.clear();
      this.confirmedOf.clear();
      this.confirmedIndex.clear();
      this.allIndex.clear();
      this.groupSums.clear();
      this.dirty.clear();
      this.maxFaceId = 0;
      this.lastSeenMax = 0;
      await this.loadPeople();
      await this.loadDecisions();
      await this.syncLocked();
    });
  }

  /** The members of a face's current group that should be regrouped after it changes. */
  private neighbourhood(...personIds: Array<number | null>): FaceRec[] {
    const out = new Map<number, FaceRec>();
    for (const p of personIds) {
      if (p === null) continue;
      for (const id of this.members.get(p) ?? []) out.set(id, this.faces.get(id)!);
    }
    return [...out.values()];
  }

  private findPersonByName(name: string): PersonRec | null {
    const wanted = name.trim().toLowerCase();
    const matches = [...this.persons.values()].filter((p) => p.name?.toLowerCase() === wanted);
    return matches.length === 1 ? matches[0] : null;
  }

  /**
   * Names one face: it is confirmed as the person with that name (the only one with it,
   * case-insensitive) or a new person. If the face was in an unnamed cluster, the cluster's other
   * faces become suggestions for that person (when close enough to the named face).
   */
  async nameFace(faceId: number, name: string): Promise<PersonSummary> {
    const clean = name.trim();
    if (!clean) throw new FaceLibraryError('InvalidName', 'a name cannot be empty');
    return this.mutate(async (q) => {
      const f = this.requireFace(faceId);
      const person = this.findPersonByName(clean) ?? (await this.newPerson(q, clean, true));
      await this.confirm(q, f, person.id);
      return this.freshSummary(q, person);
    });
  }

  /** Moves (or assigns) a face to a person: confirmed as that person. */
  async assignFace(faceId: number, personId: number): Promise<PersonSummary> {
    return this.mutate(async (q) => {
      const f = this.requireFace(faceId);
      const person = this.requirePerson(personId);
      if (!person.curated) await this.curate(q, person);
      await this.confirm(q, f, person.id);
      return this.freshSummary(q, person);
    });
  }

  /** Accepts a suggestion: the face is confirmed as the suggested person. */
  async acceptSuggestion(faceId: number): Promise<PersonSummary> {
    return this.mutate(async (q) => {
      const f = this.requireFace(faceId);
      if (f.status !== 'suggested' || f.personId === null) throw new FaceLibraryError('NoSuggestion', `face ${faceId} has no suggestion`);
      const person = this.requirePerson(f.personId);
      await this.confirm(q, f, person.id);
      return this.freshSummary(q, person);
    });
  }

  private async confirm(q: SqlRunner, f: FaceRec, personId: number): Promise<void> {
    const before = f.personId;
    const wasCluster = before !== null && !this.persons.get(before)?.curated;
    await this.writeDecision(q, f, 'confirm', personId);
    // The face's old group and the person's group are regrouped together: an unnamed cluster
    // the face was in joins the person as suggestions.
    const affected = this.neighbourhood(before, personId);
    if (!affected.includes(f)) affected.push(f);
    await this.regroup(q, affected);
    if (wasCluster && before !== null && (this.members.get(before)?.size ?? 0) === 0) this.pendingPersonDeletes.push(before);
    this.recheckSuggestionsNear(f);
  }

  /**
   * A new reference face changes the margins of other people's suggestions nearby: those are
   * re-checked (withdrawn when the person no longer leads by the margin).
   */
  private recheckSuggestionsNear(f: FaceRec): void {
    if (!f.vector) return;
    const floor = this.params.groupThreshold - this.params.margin;
    for (const n of this.allIndex.search(f.vector, 64)) {
      if (n.similarity < floor) break;
      const o = this.faces.get(n.key);
      if (!o || o.status !== 'suggested' || o.personId === null || o.personId === f.personId) continue;
      const scores = this.personScores(o, this.excludedPersons(o));
      const inGroup = this.suggestInGroup(scores, o.personId);
      const p = inGroup ?? this.suggestAlone(scores);
      if (p?.personId === o.personId) this.setState(o, p.personId, p.status, p.confidence);
      else this.setState(o, null, 'unassigned', null);
    }
  }

  /** Makes an unnamed cluster a person the user owns: its current faces become confirmed. */
  private async curate(q: SqlRunner, p: PersonRec): Promise<void> {
    await q.exec('UPDATE people SET curated = true WHERE id = $1', [p.id]);
    p.curated = true;
    for (const id of [...(this.members.get(p.id) ?? [])]) {
      const f = this.faces.get(id)!;
      if (f.status === 'clustered') await this.writeDecision(q, f, 'confirm', p.id);
    }
    await this.regroup(q, this.neighbourhood(p.id));
  }

  /**
   * Names a person or an unnamed cluster. Naming a cluster makes it a person and confirms its
   * current faces (they become references). Another person with the same name is left alone:
   * call merge() to join them.
   */
  async namePerson(personId: number, name: string | null): Promise<PersonSummary> {
    const clean = name?.trim() || null;
    return this.mutate(async (q) => {
      const p = this.requirePerson(personId);
      if (!p.curated) await this.curate(q, p);
      await q.exec('UPDATE people SET name = $1 WHERE id = $2', [clean, p.id]);
      p.name = clean;
      return this.freshSummary(q, p);
    });
  }

  /**
   * Merges people and/or clusters into `targetId`: the user says they are one person. Faces of a
   * merged cluster become confirmed; a merged person's decisions move over to the target.
   */
  async merge(sourceIds: readonly number[], targetId: number): Promise<PersonSummary> {
    return this.mutate(async (q) => {
      const target = this.requirePerson(targetId);
      const sources = [...new Set(sourceIds)].filter((id) => id !== targetId).map((id) => this.requirePerson(id));
      if (!target.curated) await this.curate(q, target);
      for (const s of sources) {
        if (!s.curated) {
          for (const id of [...(this.members.get(s.id) ?? [])]) {
            const f = this.faces.get(id)!;
            if (f.status === 'clustered') await this.writeDecision(q, f, 'confirm', target.id);
          }
        } else {
          // "Not S" decisions for faces now confirmed as the target would contradict the merge.
          await q.exec(`UPDATE face_decisions SET person_id = $1 WHERE person_id = $2`, [target.id, s.id]);
          for (const d of this.decisions) if (d.personId === s.id) d.personId = target.id;
        }
        if (!target.name && s.name) {
          target.name = s.name;
          await q.exec('UPDATE people SET name = $1 WHERE id = $2', [s.name, target.id]);
        }
      }
      // Drop rejections of the target that now contradict confirmations of it.
      const confirmedKeys = this.decisions.filter((d) => d.kind === 'confirm' && d.personId === target.id);
      const contradicted = this.decisions.filter(
        (d) => d.kind === 'reject' && d.personId === target.id && confirmedKeys.some((c) => c.contentHash === d.contentHash && iou(c.box, d.box) >= this.params.decisionIou),
      );
      for (const d of contradicted) await q.exec('DELETE FROM face_decisions WHERE id = $1', [d.id]);
      const gone = new Set(contradicted.map((d) => d.id));
      this.decisions = this.decisions.filter((d) => !gone.has(d.id));
      this.rebuildDecisionIndexes();
      const affected = this.neighbourhood(target.id, ...sources.map((s) => s.id));
      for (const f of affected) this.setState(f, null, 'unassigned', null);
      for (const s of sources) await this.deletePerson(q, s.id);
      await this.regroup(q, affected);
      return this.freshSummary(q, target);
    });
  }

  /**
   * Splits faces off a person (or cluster) into a new person (named or not): they are confirmed
   * as the new person and remembered as "not" the old one.
   */
  async split(personId: number, faceIds: readonly number[], name: string | null = null): Promise<PersonSummary> {
    return this.mutate(async (q) => {
      const old = this.requirePerson(personId);
      const faces = [...new Set(faceIds)].map((id) => this.requireFace(id));
      for (const f of faces) {
        if (f.personId !== personId) throw new FaceLibraryError('NotMember', `face ${f.id} is not in person ${personId}`);
      }
      // Splitting a cluster vouches for both halves: the faces that stay are confirmed as well.
      if (!old.curated) await this.curate(q, old);
      const created = await this.newPerson(q, name?.trim() || null, true);
      for (const f of faces) {
        await this.writeDecision(q, f, 'reject', old.id);
        await this.writeDecision(q, f, 'confirm', created.id);
      }
      await this.regroup(q, this.neighbourhood(old.id, created.id));
      return this.freshSummary(q, created);
    });
  }

  /**
   * "Not this person": the face leaves its person (suggested or even confirmed) and will never be
   * put back with that person, not by a re-cluster nor after the photo is re-indexed.
   */
  async rejectSuggestion(faceId: number, personId?: number): Promise<FaceInfo> {
    return this.mutate(async (q) => {
      const f = this.requireFace(faceId);
      const pid = personId ?? f.personId;
      if (pid === null || pid === undefined) throw new FaceLibraryError('NoSuggestion', `face ${faceId} is not assigned to anyone`);
      this.requirePerson(pid);
      await this.writeDecision(q, f, 'reject', pid);
      this.setState(f, null, 'unassigned', null);
      const next = this.propose(f);
      this.setState(f, next.personId, next.status, next.confidence);
      this.dissolveTinyClusters();
      return this.info(f);
    });
  }

  /** Not a face, or not to be grouped: the face stays visible but never joins anyone. */
  async ignoreFace(faceId: number): Promise<FaceInfo> {
    return this.mutate(async (q) => {
      const f = this.requireFace(faceId);
      const before = f.personId;
      await this.writeDecision(q, f, 'ignore', null);
      this.setState(f, null, 'ignored', null);
      if (before !== null && !this.persons.get(before)?.curated) this.dissolveTinyClusters();
      return this.info(f);
    });
  }

  /** Forgets every decision about one face (undo); it is assigned afresh. */
  async resetFace(faceId: number): Promise<FaceInfo> {
    return this.mutate(async (q) => {
      const f = this.requireFace(faceId);
      const mine = this.decisionsForFace(f);
      for (const d of mine) await q.exec('DELETE FROM face_decisions WHERE id = $1', [d.id]);
      const gone = new Set(mine.map((d) => d.id));
      this.decisions = this.decisions.filter((d) => !gone.has(d.id));
      this.rebuildDecisionIndexes();
      this.attachDecisions(f.assetId);
      this.setState(f, null, 'unassigned', null);
      const next = this.propose(f);
      this.setState(f, next.personId, next.status, next.confidence);
      this.dissolveTinyClusters();
      await this.withPaths([f], q);
      return this.info(f);
    });
  }

  /** Deletes a person (not their photos): their decisions are forgotten and their faces regrouped. */
  async deletePersonAndDecisions(personId: number): Promise<void> {
    await this.mutate(async (q) => {
      this.requirePerson(personId);
      const affected = this.neighbourhood(personId);
      await q.exec('DELETE FROM face_decisions WHERE person_id = $1', [personId]);
      this.decisions = this.decisions.filter((d) => d.personId !== personId);
      this.rebuildDecisionIndexes();
      for (const f of affected) this.setState(f, null, 'unassigned', null);
      await this.deletePerson(q, personId);
      await this.regroup(q, affected);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Privacy
  // ---------------------------------------------------------------------------------------------

  /**
   * Deletes every face, person and decision of this root and turns face detection off for it
   * (the analyzer created with `isEnabled: () => library.enabled` then records no faces).
   */
  async deleteAllFaceData(): Promise<{ faces: number; people: number; decisions: number }> {
    return this.lock.run(async () => {
      const counts = await this.catalog.transact(async (q) => {
        const n = async (table: string) => num((await q.all(`SELECT count(*) AS n FROM ${table}`))[0].n);
        const out = { faces: await n('faces'), people: await n('people'), decisions: await n('face_decisions') };
        await q.exec('DELETE FROM faces');
        await q.exec('DELETE FROM people');
        await q.exec('DELETE FROM face_decisions');
        await q.exec(`INSERT INTO meta VALUES ($1, '0') ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [META_ENABLED]);
        return out;
      });
      this.enabledFlag = false;
      this.maxFaceId = 0;
      this.lastSeenMax = 0;
      this.faces.clear();
      this.byAsset.clear();
      this.persons.clear();
      this.members.clear();
      this.confirmedOf.clear();
      this.confirmedIndex.clear();
      this.allIndex.clear();
      this.groupSums.clear();
      this.decisions = [];
      this.rebuildDecisionIndexes();
      this.dirty.clear();
      this.pendingPersonDeletes = [];
      return counts;
    });
  }

  /**
   * Turns face detection back on for this root and queues every indexed image for the faces
   * analyzer (the next index run re-reads them).
   */
  async enableFaces(): Promise<number> {
    return this.lock.run(async () => {
      const queued = await this.catalog.transact(async (q) => {
        await q.exec(`INSERT INTO meta VALUES ($1, '1') ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [META_ENABLED]);
        const rows = await q.all(`SELECT id, analyzer_versions FROM assets WHERE status = 'ok'`);
        let n = 0;
        for (const r of rows) {
          const versions = JSON.parse((r.analyzer_versions as string) || '{}') as Record<string, number>;
          if (!(FACES_ANALYZER in versions)) continue;
          versions[FACES_ANALYZER] = 0;
          const sorted = Object.fromEntries(Object.entries(versions).sort(([a], [b]) => a.localeCompare(b)));
          await q.exec('UPDATE assets SET analyzer_versions = $1 WHERE id = $2', [JSON.stringify(sorted), num(r.id) as DuckDBValue]);
          n++;
        }
        return n;
      });
      this.enabledFlag = true;
      return queued;
    });
  }
}

export class FaceLibraryError extends Error {
  constructor(
    readonly code: 'UnknownFace' | 'UnknownPerson' | 'InvalidName' | 'NoSuggestion' | 'NotMember',
    message: string,
  ) {
    super(message);
    this.name = 'FaceLibraryError';
  }
}
