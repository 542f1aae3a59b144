import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { userCacheDir } from '../util/cache-dir';
import { downloadVerified, type DownloadProgress } from './download';
import { HubChecksums, checkGitBlob } from './hub-checksums';
import { effectiveManifest, type ModelEntry, type ModelFile, type ModelManifest } from './manifest';

export type ModelFileLocation = 'configured' | 'cache' | 'missing';

export interface ModelFileStatus {
  modelId: string;
  path: string;
  location: ModelFileLocation;
  absPath: string | null;
  /** Only set by verify(): whether the bytes match the manifest. */
  verified?: boolean;
  problem?: string;
}

export interface ResolverOptions {
  manifest?: ModelManifest;
  /** Folder checked first (LOUPE_MODELS_DIR or the `loupe.modelsFolder` setting). */
  modelsDir?: string | null;
  /** Where downloads go; defaults to the user cache's models folder. */
  cacheDir?: string;
}

export interface ResolveOptions {
  /** Download missing files (default true). */
  download?: boolean;
  signal?: AbortSignal;
  onProgress?: (file: ModelFile, p: DownloadProgress) => void;
}

export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await fsp.stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds model files: the configured folder first, then the user cache, then a verified download.
 * A file is used only when its sha256 matches the manifest (remembered per path, size and mtime).
 */
export class ModelResolver {
  readonly manifest: ModelManifest;
  readonly modelsDir: string | null;
  readonly cacheDir: string;
  private readonly verifiedCache = new Map<string, string>();
  /** Cache lookups/downloads under way, per cache path: concurrent calls for one file run one at a time. */
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly hubChecksums = new HubChecksums();

  constructor(options: ResolverOptions = {}) {
    this.manifest = options.manifest ?? effectiveManifest();
    this.modelsDir = options.modelsDir !== undefined ? options.modelsDir : (process.env.LOUPE_MODELS_DIR || null);
    this.cacheDir = options.cacheDir ?? join(userCacheDir(), 'models');
  }

  entry(modelId: string): ModelEntry {
    const e = this.manifest.models.find((m) => m.id === modelId);
    if (!e) throw new ModelError(`unknown model "${modelId}"; known: ${this.manifest.models.map((m) => m.id).join(', ')}`);
    return e;
  }

  private howToSupply(entry: ModelEntry, file: ModelFile): string {
    const what = file.sha256 ? `sha256 ${file.sha256}, ${file.size} bytes` : `about ${Math.round((file.approxSize ?? 0) / 1e6)} MB`;
    return (
      `${file.url ? `download ${file.url}` : `get ${file.path} from ${entry.source}`} (${what}) and save it as ` +
      `${join(this.cacheDir, file.path)}, or set LOUPE_MODELS_DIR to a folder containing ${file.path}`
    );
  }

  /** What a file's sha256 must be: the manifest's, or for an unpinned file the one recorded at download (null: none). */
  private async expectedSha256(absPath: string, file: ModelFile, configured: boolean): Promise<string | null | 'any'> {
    if (file.sha256) return file.sha256;
    if (configured) return 'any'; // the user put it there on purpose
    try {
      return (await fsp.readFile(`${absPath}.sha256`, 'utf8')).trim();
    } catch {
      return null;
    }
  }

  private async isVerified(absPath: string, file: ModelFile, configured = false): Promise<boolean> {
    const expected = await this.expectedSha256(absPath, file, configured);
    if (expected === 'any') return true;
    if (expected === null) return false;
    const st = await fsp.stat(absPath);
    const key = `${absPath}:${st.size}:${st.mtimeMs}`;
    if (this.verifiedCache.get(key) === expected) return true;
    if (file.size !== null && st.size !== file.size) return false;
    const ok = (await sha256OfFile(absPath)) === expected;
    if (ok) this.verifiedCache.set(key, expected);
    return ok;
  }

  /** Where a file is now, without hashing or downloading. */
  async locate(modelId: string): Promise<ModelFileStatus[]> {
    const entry = this.entry(modelId);
    return Promise.all(
      entry.files.map(async (file) => {
        if (this.modelsDir && (await exists(join(this.modelsDir, file.path)))) {
          return { modelId, path: file.path, location: 'configured' as const, absPath: join(this.modelsDir, file.path) };
        }
        if (await exists(join(this.cacheDir, file.path))) {
          return { modelId, path: file.path, location: 'cache' as const, absPath: join(this.cacheDir, file.path) };
        }
        return { modelId, path: file.path, location: 'missing' as const, absPath: null };
      }),
    );
  }

  async list(): Promise<Array<{ entry: ModelEntry; files: ModelFileStatus[] }>> {
    return Promise.all(this.manifest.models.map(async (entry) => ({ entry, files: await this.locate(entry.id) })));
  }

  /** Checks the sha256 of every file that is present. */
  async verify(modelId: string): Promise<ModelFileStatus[]> {
    const entry = this.entry(modelId);
    const located = await this.locate(modelId);
    return Promise.all(
      located.map(async (status, i) => {
        const file = entry.files[i];
        if (!status.absPath) return { ...status, verified: false, problem: `missing: ${this.howToSupply(entry, file)}` };
        const ok = await this.isVerified(status.absPath, file, status.location === 'configured');
        return ok
          ? { ...status, verified: true }
          : { ...status, verified: false, problem: `sha256 does not match ${file.sha256}: ${this.howToSupply(entry, file)}` };
      }),
    );
  }

  /** Absolute path of one verified file of a model, downloading it if allowed. */
  async resolveFile(modelId: string, filePath?: string, options: ResolveOptions = {}): Promise<string> {
    const entry = this.entry(modelId);
    const file = filePath ? entry.files.find((f) => f.path === filePath) : entry.files[0];
    if (!file) throw new ModelError(`model "${modelId}" has no file ${filePath}`);

    if (this.modelsDir) {
      const configured = join(this.modelsDir, file.path);
      if (await exists(configured)) {
        if (await this.isVerified(configured, file, true)) return configured;
        throw new ModelError(
          `model "${modelId}": ${configured} does not match the expected sha256 ${file.sha256}; replace it: ${this.howToSupply(entry, file)}`,
        );
      }
    }
    const cached = join(this.cacheDir, file.path);
    // Two downloads of one file would append to the same .part and one caller could get a mixed,
    // unverified file. Wait for any call already fetching this file, then look at the cache again.
    for (let busy = this.inFlight.get(cached); busy; busy = this.inFlight.get(cached)) await busy.catch(() => undefined);
    const task = this.fromCacheOrDownload(modelId, entry, file, cached, options);
    this.inFlight.set(cached, task);
    try {
      return await task;
    } finally {
      if (this.inFlight.get(cached) === task) this.inFlight.delete(cached);
    }
  }

  private async fromCacheOrDownload(modelId: string, entry: ModelEntry, file: ModelFile, cached: string, options: ResolveOptions): Promise<string> {
    if (await exists(cached)) {
      if (await this.isVerified(cached, file)) return cached;
      await fsp.rm(cached, { force: true }); // a damaged cache entry is re-downloaded
    }
    if (options.download === false) {
      throw new ModelError(`model "${modelId}" is not available (${file.path}); run "loupe models fetch ${modelId}" or ${this.howToSupply(entry, file)}`);
    }
    if (!file.url) {
      throw new ModelError(`model "${modelId}" (${file.path}) has no download address: ${this.howToSupply(entry, file)}`);
    }
    try {
      // Unpinned file on a model hub: check it against the checksum the hub publishes for it.
      const published = file.sha256 ? null : await this.hubChecksums.forUrl(file.url, options.signal);
      const sha256 = await downloadVerified({
        url: file.url,
        target: cached,
        expectedSha256: file.sha256 ?? published?.sha256 ?? null,
        expectedSize: file.size ?? published?.size ?? undefined,
        signal: options.signal,
        onProgress: (p) => options.onProgress?.(file, p),
      });
      if (published?.gitBlobSha1) {
        await checkGitBlob(cached, published.gitBlobSha1).catch(async (err) => {
          await fsp.rm(cached, { force: true });
          throw err;
        });
      }
      // Unpinned file: remember what arrived, so a damaged copy is noticed later.
      if (!file.sha256) await fsp.writeFile(`${cached}.sha256`, `${sha256}\n`);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new ModelError(`model "${modelId}" (${file.path}) could not be downloaded: ${reason}. To supply it by hand, ${this.howToSupply(entry, file)}`);
    }
    return cached;
  }

  /** Every file of a model, verified; keys are manifest paths. */
  async resolve(modelId: string, options: ResolveOptions = {}): Promise<Record<string, string>> {
    const entry = this.entry(modelId);
    const out: Record<string, string> = {};
    for (const f of entry.files) out[f.path] = await this.resolveFile(modelId, f.path, options);
    return out;
  }
}
