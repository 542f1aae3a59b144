import { DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Mutex } from '../util/mutex';
import type { FileErrorCode } from '../util/errors';
import { ensureStateDir, stateDirFor } from './catalog-paths';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations';
import type { AnalyzerRows, Asset, AssetStatus, ImageFacts, KnownFile, OtherFile, OwnedRows, StatusSummary } from './types';

/** Everything one scan found different from the catalog, applied atomically. */
export interface ScanChanges {
  added: Array<{ relPath: string; size: number; mtimeMs: number }>;
  /** Content differs: analysis is dropped and the asset re-queued. */
  changed: Array<{ id: number; size: number; mtimeMs: number }>;
  /** Only the mtime moved; the content hash proved the bytes are the same. */
  touched: Array<{ id: number; mtimeMs: number }>;
  /** Same bytes at a new path: analysis is kept. */
  moved: Array<{ id: number; relPath: string; size: number; mtimeMs: number }>;
  removed: number[];
  /** Paths the scanner could not treat as files (loops, links out of the root...). */
  scanErrors: Array<{ relPath: string; code: FileErrorCode; message: string }>;
  otherAdded: OtherFile[];
  otherRemoved: string[];
}

export function emptyChanges(): ScanChanges {
  return { added: [], changed: [], touched: [], moved: [], removed: [], scanErrors: [], otherAdded: [], otherRemoved: [] };
}

export interface CatalogOptions {
  /** Folder for the catalog and thumbnails; defaults to <root>/.loupe (or the user cache for read-only roots). */
  stateDir?: string;
}

type Row = Record<string, DuckDBValue>;
type JsRow = Record<string, unknown>;

const ASSET_COLUMNS = `id, rel_path, size, mtime_ms, content_hash, format, width, height, taken_at, camera_make,
  camera_model, orientation, gps_lat, gps_lon, status, error_code, error_message, analyzer_versions, thumb,
  CAST(indexed_at AS VARCHAR) AS indexed_at`;

function num(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : (v as number);
}
function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}

export function rowToAsset(r: JsRow): Asset {
  return {
    id: num(r.id),
    relPath: r.rel_path as string,
    size: num(r.size),
    mtimeMs: num(r.mtime_ms),
    contentHash: (r.content_hash as string | null) ?? null,
    format: (r.format as Asset['format']) ?? null,
    width: numOrNull(r.width),
    height: numOrNull(r.height),
    takenAt: (r.taken_at as string | null) ?? null,
    cameraMake: (r.camera_make as string | null) ?? null,
    cameraModel: (r.camera_model as string | null) ?? null,
    orientation: numOrNull(r.orientation),
    gpsLat: numOrNull(r.gps_lat),
    gpsLon: numOrNull(r.gps_lon),
    status: r.status as AssetStatus,
    errorCode: (r.error_code as FileErrorCode | null) ?? null,
    errorMessage: (r.error_message as string | null) ?? null,
    analyzerVersions: JSON.parse((r.analyzer_versions as string) || '{}') as Record<string, number>,
    thumb: (r.thumb as string | null) ?? null,
    indexedAt: (r.indexed_at as string | null) ?? null,
  };
}

/**
 * The per-root catalog: the source of truth for everything Loupe knows about a root.
 * One DuckDB connection; every operation is serialised so transactions never interleave.
 */
export class Catalog {
  private readonly lock = new Mutex();

  private constructor(
    readonly root: string,
    readonly stateDir: string,
    readonly dbPath: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(root: string, options: CatalogOptions = {}): Promise<Catalog> {
    const stateDir = options.stateDir ?? stateDirFor(root);
    ensureStateDir(stateDir);
    const dbPath = join(stateDir, 'catalog.duckdb');
    let instance: DuckDBInstance;
    try {
      // DuckDB caches up to 80% of RAM by default; a catalog needs far less (it spills to disk if ever short).
      instance = await DuckDBInstance.create(dbPath, { threads: '2', memory_limit: process.env.LOUPE_DB_MEMORY_LIMIT || '512MB' });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/lock/i.test(msg)) {
        throw new Error(`the catalog ${dbPath} is in use by another Loupe process; stop it or talk to it instead (${msg.split('\n')[0]})`);
      }
      throw new Error(`cannot open the catalog ${dbPath}: ${msg.split('\n')[0]}`);
    }
    const conn = await instance.connect();
    const catalog = new Catalog(root, stateDir, dbPath, instance, conn);
    await catalog.migrate();
    return catalog;
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }

  get thumbsDir(): string {
    return join(this.stateDir, 'thumbs');
  }

  // ---- low-level helpers (callers hold the lock) ----

  private async all(sql: string, params?: DuckDBValue[]): Promise<JsRow[]> {
    const reader = await this.conn.runAndReadAll(sql, params);
    return reader.getRowObjectsJS() as JsRow[];
  }

  private async exec(sql: string, params?: DuckDBValue[]): Promise<void> {
    await this.conn.run(sql, params);
  }

  private async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.exec('BEGIN TRANSACTION');
    try {
      const result = await fn();
      await this.exec('COMMIT');
      return result;
    } catch (err) {
      await this.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  private async migrate(): Promise<void> {
    await this.lock.run(async () => {
      const hasTable = await this.all(
        `SELECT 1 FROM information_schema.tables WHERE table_name = 'schema_version' AND table_schema = 'main'`,
      );
      if (hasTable.length === 0) await this.exec('CREATE TABLE schema_version (version INTEGER NOT NULL)');
      const rows = await this.all('SELECT max(version) AS v FROM schema_version');
      const current = numOrNull(rows[0]?.v) ?? 0;
      if (current > SCHEMA_VERSION) {
        throw new Error(`the catalog ${this.dbPath} was written by a newer Loupe (schema ${current} > ${SCHEMA_VERSION}); update Loupe`);
      }
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        await this.transaction(async () => {
          for (const s of m.statements) await this.exec(s);
          await this.exec('INSERT INTO schema_version VALUES ($1)', [m.version]);
        });
      }
      await this.exec(
        `CREATE TEMP TABLE IF NOT EXISTS staging_rows (kind VARCHAR, id BIGINT, rel_path VARCHAR, size BIGINT, mtime_ms DOUBLE, code VARCHAR, message VARCHAR)`,
      );
    });
  }

  async schemaVersion(): Promise<number> {
    return this.lock.run(async () => num((await this.all('SELECT max(version) AS v FROM schema_version'))[0].v));
  }

  /** Tables holding per-asset analysis, discovered by their asset_id column. */
  private async assetChildTables(): Promise<string[]> {
    const rows = await this.all(
      `SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'asset_id' AND table_schema = 'main'`,
    );
    return rows.map((r) => r.table_name as string);
  }

  // ---- scanner support ----

  async knownFiles(): Promise<Map<string, KnownFile>> {
    return this.lock.run(async () => {
      const rows = await this.all('SELECT id, rel_path, size, mtime_ms, content_hash, status, error_code FROM assets');
      const map = new Map<string, KnownFile>();
      for (const r of rows) {
        map.set(r.rel_path as string, {
          id: num(r.id),
          relPath: r.rel_path as string,
          size: num(r.size),
          mtimeMs: num(r.mtime_ms),
          contentHash: (r.content_hash as string | null) ?? null,
          status: r.status as AssetStatus,
          errorCode: (r.error_code as FileErrorCode | null) ?? null,
        });
      }
      return map;
    });
  }

  async otherFiles(): Promise<Map<string, OtherFile>> {
    return this.lock.run(async () => {
      const rows = await this.all('SELECT rel_path, size, mtime_ms FROM other_files');
      return new Map(rows.map((r) => [r.rel_path as string, { relPath: r.rel_path as string, size: num(r.size), mtimeMs: num(r.mtime_ms) }]));
    });
  }

  /** Stages every row of a scan in one temp table (appender: fast), so applying it is a few set-based statements. */
  private async stageScan(changes: ScanChanges): Promise<void> {
    await this.exec('DELETE FROM staging_rows');
    const appender = await this.conn.createAppender('staging_rows', 'main', 'temp');
    const text = (v: string | null) => (v === null ? appender.appendNull() : appender.appendVarchar(v));
    const row = (kind: string, id: number | null, relPath: string | null, size: number | null, mtimeMs: number | null, code: string | null = null, message: string | null = null) => {
      appender.appendVarchar(kind);
      if (id === null) appender.appendNull();
      else appender.appendBigInt(BigInt(id));
      text(relPath);
      if (size === null) appender.appendNull();
      else appender.appendBigInt(BigInt(size));
      if (mtimeMs === null) appender.appendNull();
      else appender.appendDouble(mtimeMs);
      text(code);
      text(message);
      appender.endRow();
    };
    for (const a of changes.added) row('added', null, a.relPath, a.size, a.mtimeMs);
    for (const c of changes.changed) row('changed', c.id, null, c.size, c.mtimeMs);
    for (const t of changes.touched) row('touched', t.id, null, null, t.mtimeMs);
    for (const m of changes.moved) row('moved', m.id, m.relPath, m.size, m.mtimeMs);
    for (const id of changes.removed) row('removed', id, null, null, null);
    for (const e of changes.scanErrors) row('error', null, e.relPath, 0, 0, e.code, e.message);
    for (const o of changes.otherAdded) row('other', null, o.relPath, o.size, o.mtimeMs);
    for (const p of changes.otherRemoved) row('other-removed', null, p, null, null);
    appender.closeSync();
  }

  /** Applies one scan's findings in a single transaction, then deletes thumbnails no asset uses any more. */
  async applyScan(changes: ScanChanges): Promise<void> {
    const orphanThumbs = await this.lock.run(async () => {
      const dropAnalysis = changes.changed.length + changes.removed.length;
      const children = await this.assetChildTables();
      // Staging happens outside the transaction: the appender writes to a temp table only.
      await this.stageScan(changes);
      return this.transaction(async () => {
        let orphans: string[] = [];
        if (dropAnalysis > 0) {
          const dropped = `SELECT id FROM staging_rows WHERE kind IN ('changed', 'removed')`;
          for (const table of children) await this.exec(`DELETE FROM "${table}" WHERE asset_id IN (${dropped})`);
          const thumbRows = await this.all(`SELECT DISTINCT thumb FROM assets WHERE id IN (${dropped}) AND thumb IS NOT NULL`);
          await this.exec(`DELETE FROM assets WHERE id IN (SELECT id FROM staging_rows WHERE kind = 'removed')`);
          orphans = thumbRows.map((r) => r.thumb as string);
        }
        if (changes.changed.length) {
          await this.exec(
            `UPDATE assets SET size = s.size, mtime_ms = s.mtime_ms, status = 'pending', content_hash = NULL, format = NULL,
             width = NULL, height = NULL, taken_at = NULL, camera_make = NULL, camera_model = NULL, orientation = NULL,
             gps_lat = NULL, gps_lon = NULL, error_code = NULL, error_message = NULL, analyzer_versions = '{}', thumb = NULL,
             indexed_at = NULL
             FROM staging_rows s WHERE s.kind = 'changed' AND assets.id = s.id`,
          );
        }
        if (changes.touched.length) {
          await this.exec(`UPDATE assets SET mtime_ms = s.mtime_ms FROM staging_rows s WHERE s.kind = 'touched' AND assets.id = s.id`);
        }
        if (changes.moved.length) {
          await this.exec(
            `UPDATE assets SET rel_path = s.rel_path, size = s.size, mtime_ms = s.mtime_ms FROM staging_rows s WHERE s.kind = 'moved' AND assets.id = s.id`,
          );
        }
        if (changes.added.length) {
          await this.exec(`INSERT INTO assets (rel_path, size, mtime_ms, status) SELECT rel_path, size, mtime_ms, 'pending' FROM staging_rows WHERE kind = 'added'`);
        }
        if (changes.scanErrors.length) {
          await this.exec(
            `INSERT INTO assets (rel_path, size, mtime_ms, status, error_code, error_message)
             SELECT rel_path, 0, 0, 'error', code, message FROM staging_rows WHERE kind = 'error'
             ON CONFLICT (rel_path) DO UPDATE SET status = 'error', error_code = excluded.error_code, error_message = excluded.error_message`,
          );
        }
        if (changes.otherAdded.length) {
          await this.exec(
            `INSERT INTO other_files SELECT rel_path, size, mtime_ms FROM staging_rows WHERE kind = 'other'
             ON CONFLICT (rel_path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms`,
          );
        }
        if (changes.otherRemoved.length) {
          await this.exec(`DELETE FROM other_files WHERE rel_path IN (SELECT rel_path FROM staging_rows WHERE kind = 'other-removed')`);
        }
        // A thumbnail is named by content hash, so it is only an orphan if no remaining asset shares it.
        if (orphans.length === 0) return [];
        const stillUsed = await this.all(`SELECT DISTINCT thumb FROM assets WHERE thumb IS NOT NULL`);
        const used = new Set(stillUsed.map((r) => r.thumb as string));
        return orphans.filter((t) => !used.has(t));
      });
    });
    for (const thumb of orphanThumbs) rmSync(join(this.thumbsDir, thumb), { force: true });
  }

  // ---- job pipeline support ----

  /** Assets that still need work: never processed, or processed by an older analyzer set. */
  async assetsNeedingWork(analyzerVersions: Record<string, number>): Promise<Array<{ id: number; relPath: string; size: number; mtimeMs: number; status: AssetStatus; contentHash: string | null; versions: Record<string, number> }>> {
    return this.lock.run(async () => {
      const rows = await this.all(
        `SELECT id, rel_path, size, mtime_ms, status, content_hash, analyzer_versions FROM assets
         WHERE status = 'pending' OR (status = 'ok' AND analyzer_versions <> $1) ORDER BY rel_path`,
        [JSON.stringify(sortKeys(analyzerVersions))],
      );
      return rows.map((r) => ({
        id: num(r.id),
        relPath: r.rel_path as string,
        size: num(r.size),
        mtimeMs: num(r.mtime_ms),
        status: r.status as AssetStatus,
        contentHash: (r.content_hash as string | null) ?? null,
        versions: JSON.parse(r.analyzer_versions as string) as Record<string, number>,
      }));
    });
  }

  /** Inserts analyzer rows for one asset (inside the caller's transaction). */
  private async insertRows(id: number, rows: AnalyzerRows): Promise<void> {
    for (const [table, tableRows] of Object.entries(rows)) {
      for (const row of tableRows) {
        const cols = Object.keys(row);
        const placeholders = cols.map((_, i) => `$${i + 2}`).join(', ');
        await this.exec(`INSERT INTO "${table}" (asset_id, ${cols.map((c) => `"${c}"`).join(', ')}) VALUES ($1, ${placeholders})`, [id, ...cols.map((c) => row[c] as DuckDBValue)]);
      }
    }
  }

  /** Records a finished image and its analyzer rows atomically: either all of it lands or none. */
  async completeAsset(id: number, facts: ImageFacts, analyzerVersions: Record<string, number>, rows: AnalyzerRows): Promise<void> {
    await this.lock.run(() =>
      this.transaction(async () => {
        for (const table of Object.keys(rows)) await this.exec(`DELETE FROM "${table}" WHERE asset_id = $1`, [id]);
        await this.insertRows(id, rows);
        await this.exec(
          `UPDATE assets SET content_hash = $1, format = $2, width = $3, height = $4, taken_at = $5, camera_make = $6,
           camera_model = $7, orientation = $8, gps_lat = $9, gps_lon = $10, thumb = $11, status = 'ok', error_code = NULL,
           error_message = NULL, analyzer_versions = $12, indexed_at = current_timestamp, size = $13, mtime_ms = $14 WHERE id = $15`,
          [
            facts.contentHash, facts.format, facts.width, facts.height, facts.takenAt, facts.cameraMake, facts.cameraModel,
            facts.orientation, facts.gpsLat, facts.gpsLon, facts.thumb, JSON.stringify(sortKeys(analyzerVersions)),
            facts.size, facts.mtimeMs, id,
          ],
        );
      }),
    );
  }

  /**
   * Records the work of some analyzers on an image whose other facts stay: their owned rows are
   * replaced and the analyzer versions updated, atomically.
   */
  async updateAnalysis(id: number, analyzerVersions: Record<string, number>, owned: readonly OwnedRows[], rows: AnalyzerRows, thumb?: string): Promise<void> {
    const orphan = await this.lock.run(() =>
      this.transaction(async () => {
        const previous = thumb === undefined ? null : (((await this.all('SELECT thumb FROM assets WHERE id = $1', [id]))[0]?.thumb as string | null) ?? null);
        for (const o of owned) {
          if (o.model === undefined) await this.exec(`DELETE FROM "${o.table}" WHERE asset_id = $1`, [id]);
          else await this.exec(`DELETE FROM "${o.table}" WHERE asset_id = $1 AND model = $2`, [id, o.model]);
        }
        await this.insertRows(id, rows);
        await this.exec('UPDATE assets SET analyzer_versions = $1, thumb = coalesce($2, thumb), indexed_at = current_timestamp WHERE id = $3', [
          JSON.stringify(sortKeys(analyzerVersions)),
          thumb ?? null,
          id,
        ]);
        // A thumbnail of the old size is removed once no asset shows it.
        if (!previous || previous === thumb) return null;
        const users = await this.all('SELECT count(*) AS n FROM assets WHERE thumb = $1', [previous]);
        return Number(users[0].n) === 0 ? previous : null;
      }),
    );
    if (orphan) rmSync(join(this.thumbsDir, orphan), { force: true });
  }

  async failAsset(id: number, code: FileErrorCode, message: string, contentHash: string | null = null): Promise<void> {
    await this.lock.run(() =>
      this.exec(
        `UPDATE assets SET status = 'error', error_code = $1, error_message = $2, content_hash = coalesce($3, content_hash),
         indexed_at = current_timestamp WHERE id = $4`,
        [code, message, contentHash, id],
      ),
    );
  }

  /** A file that proved not to be an image at all (no image extension either): remembered so it is not re-read. */
  async demoteToOtherFile(id: number): Promise<void> {
    await this.lock.run(() =>
      this.transaction(async () => {
        await this.exec(
          `INSERT INTO other_files SELECT rel_path, size, mtime_ms FROM assets WHERE id = $1 ON CONFLICT (rel_path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms`,
          [id],
        );
        await this.exec('DELETE FROM assets WHERE id = $1', [id]);
      }),
    );
  }

  // ---- queries ----

  async getAsset(id: number): Promise<Asset | null> {
    return this.lock.run(async () => {
      const rows = await this.all(`SELECT ${ASSET_COLUMNS} FROM assets WHERE id = $1`, [id]);
      return rows.length ? rowToAsset(rows[0]) : null;
    });
  }

  async getAssetByPath(relPath: string): Promise<Asset | null> {
    return this.lock.run(async () => {
      const rows = await this.all(`SELECT ${ASSET_COLUMNS} FROM assets WHERE rel_path = $1`, [relPath]);
      return rows.length ? rowToAsset(rows[0]) : null;
    });
  }

  /** Assets matching a SQL condition built by the search planner (parameters are bound, never spliced). */
  async findAssets(where: string, params: DuckDBValue[], limit = 1_000_000): Promise<Asset[]> {
    return this.lock.run(async () => {
      const rows = await this.all(
        `SELECT ${ASSET_COLUMNS} FROM assets WHERE ${where || 'TRUE'} ORDER BY rel_path LIMIT ${Math.max(0, Math.floor(limit))}`,
        params,
      );
      return rows.map(rowToAsset);
    });
  }

  /**
   * The searchable facts of every indexed ('ok') asset, or of the given ids only, for the in-memory
   * search engine. Read as one JSON value per batch of 50,000 rows, not one JS object per row
   * (findAssets needs ~3 s for 100,000 rows; this a fraction of that). Batches take the lock one at a time.
   */
  async loadSearchRows(ids?: readonly number[]): Promise<SearchFacts[]> {
    const out: SearchFacts[] = [];
    const select = async (where: string, params: DuckDBValue[]): Promise<Array<[number, number]>> => {
      const rows = await this.lock.run(() =>
        this.all(
          `SELECT CAST(to_json(list(json_array(id, rel_path, size, format, width, height, taken_at, camera_make, camera_model,
             orientation, thumb) ORDER BY id)) AS VARCHAR) AS j, count(*) AS n, max(id) AS last
           FROM (SELECT * FROM assets WHERE status = 'ok' AND ${where} ORDER BY id LIMIT 50000)`,
          params,
        ),
      );
      const n = num(rows[0]?.n ?? 0);
      if (n === 0) return [];
      for (const r of JSON.parse(rows[0].j as string) as unknown[][]) {
        out.push({
          id: r[0] as number,
          relPath: r[1] as string,
          size: r[2] as number,
          format: (r[3] as Asset['format']) ?? null,
          width: (r[4] as number | null) ?? null,
          height: (r[5] as number | null) ?? null,
          takenAt: (r[6] as string | null) ?? null,
          cameraMake: (r[7] as string | null) ?? null,
          cameraModel: (r[8] as string | null) ?? null,
          orientation: (r[9] as number | null) ?? null,
          thumb: (r[10] as string | null) ?? null,
        });
      }
      return [[n, num(rows[0].last)]];
    };
    if (ids) {
      const valid = [...new Set(ids)].filter((id) => Number.isSafeInteger(id));
      for (let i = 0; i < valid.length; i += 1000) await select(`id IN (${valid.slice(i, i + 1000).join(', ')})`, []);
      return out;
    }
    let last = -1;
    for (;;) {
      const batch = await select('id > $1', [last]);
      if (batch.length === 0 || batch[0][0] < 50000) return out;
      last = batch[0][1];
    }
  }

  async summary(maxFailures = 1000): Promise<StatusSummary> {
    return this.lock.run(async () => {
      const counts = await this.all(`SELECT status, count(*) AS n FROM assets GROUP BY status`);
      const formats = await this.all(`SELECT format, count(*) AS n FROM assets WHERE status = 'ok' GROUP BY format ORDER BY n DESC`);
      const failures = await this.all(
        `SELECT rel_path, error_code, error_message FROM assets WHERE status = 'error' ORDER BY rel_path LIMIT ${maxFailures}`,
      );
      const by = (s: string) => num(counts.find((c) => c.status === s)?.n ?? 0);
      return {
        total: counts.reduce((a, c) => a + num(c.n), 0),
        ok: by('ok'),
        pending: by('pending'),
        errors: by('error'),
        byFormat: Object.fromEntries(formats.map((f) => [String(f.format), num(f.n)])),
        failures: failures.map((f) => ({ relPath: f.rel_path as string, code: f.error_code as string, message: f.error_message as string })),
      };
    });
  }

  async getMeta(key: string): Promise<string | null> {
    return this.lock.run(async () => {
      const rows = await this.all('SELECT value FROM meta WHERE key = $1', [key]);
      return rows.length ? (rows[0].value as string) : null;
    });
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.lock.run(() =>
      this.exec('INSERT INTO meta VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]),
    );
  }

  /**
   * Runs `fn` inside one transaction with exclusive use of the connection. For feature stores
   * (references, duplicates...) that keep their SQL next to their logic; parameters are always bound.
   */
  async transact<T>(fn: (q: SqlRunner) => Promise<T>): Promise<T> {
    return this.lock.run(() => this.transaction(() => fn({ all: (sql, params) => this.all(sql, params), exec: (sql, params) => this.exec(sql, params) })));
  }

  /** A read that needs no transaction. */
  async read(sql: string, params?: DuckDBValue[]): Promise<JsRow[]> {
    return this.lock.run(() => this.all(sql, params));
  }

  /** Escape hatch for tests and benchmarks that seed state; product code uses the typed methods. */
  async rawQuery(sql: string, params?: DuckDBValue[]): Promise<JsRow[]> {
    return this.lock.run(() => this.all(sql, params));
  }
}

/** The searchable facts of one indexed asset: what the in-memory search engine keeps. */
export type SearchFacts = Pick<
  Asset,
  'id' | 'relPath' | 'size' | 'format' | 'width' | 'height' | 'takenAt' | 'cameraMake' | 'cameraModel' | 'orientation' | 'thumb'
>;

export function sortKeys(obj: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => a.localeCompare(b)));
}

export type { Row };

/** What a feature store may do inside `Catalog.transact`. */
export interface SqlRunner {
  all(sql: string, params?: DuckDBValue[]): Promise<JsRow[]>;
  exec(sql: string, params?: DuckDBValue[]): Promise<void>;
}
