/**
 * Checksums a Hugging Face repository publishes for its files, for model files this project has
 * not pinned yet (the Immich CLIP exports). The hub's file listing gives, per file, its size and
 * either the sha256 of its large-file (LFS) object or its git blob id (sha1 of "blob <size>\0" +
 * bytes) for small files; a download is checked against those before it is used.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export interface PublishedChecksum {
  size: number;
  /** sha256 of the file, for files stored through LFS (the model weights). */
  sha256: string | null;
  /** git blob id, for small files kept in git itself (config and tokenizer JSON). */
  gitBlobSha1: string | null;
}

/** A file address of the form <origin>/<owner>/<repo>/resolve/<revision>/<path>. */
export interface HubFileRef {
  origin: string;
  repo: string;
  revision: string;
  path: string;
}

export class HubChecksumError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HubChecksumError';
  }
}

export function hubFileRef(url: string): HubFileRef | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(u.pathname);
  if (!m) return null;
  return { origin: u.origin, repo: m[1], revision: decodeURIComponent(m[2]), path: decodeURIComponent(m[3]) };
}

interface TreeEntry {
  type?: string;
  path?: string;
  size?: number;
  oid?: string;
  lfs?: { oid?: string; size?: number };
}

function isTreeEntry(v: unknown): v is TreeEntry {
  return typeof v === 'object' && v !== null && typeof (v as TreeEntry).path === 'string';
}

/** git's object id of a file's bytes. */
export function gitBlobSha1(data: Uint8Array): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

/** Checks a downloaded small file against its published git blob id; throws when it differs. */
export async function checkGitBlob(path: string, expected: string): Promise<void> {
  const got = gitBlobSha1(await readFile(path));
  if (got !== expected) throw new HubChecksumError(`git blob id mismatch: the hub lists ${expected}, the download is ${got}`);
}

/**
 * Reads each repository's listing once per instance (one request covers all of a model's files)
 * and answers per file address.
 */
export class HubChecksums {
  private readonly listings = new Map<string, Promise<Map<string, PublishedChecksum>>>();

  /** The published checksum of a hub file address; null when the address is not a hub file address. */
  async forUrl(url: string, signal?: AbortSignal): Promise<PublishedChecksum | null> {
    const ref = hubFileRef(url);
    if (!ref) return null;
    const listing = await this.listing(ref, signal);
    const found = listing.get(ref.path);
    if (!found) throw new HubChecksumError(`${ref.repo}@${ref.revision} does not list ${ref.path}`);
    return found;
  }

  private listing(ref: HubFileRef, signal?: AbortSignal): Promise<Map<string, PublishedChecksum>> {
    const key = `${ref.origin}/${ref.repo}@${ref.revision}`;
    let p = this.listings.get(key);
    if (!p) {
      p = this.load(ref, signal);
      p.catch(() => this.listings.delete(key)); // a later call may try again
      this.listings.set(key, p);
    }
    return p;
  }

  private async load(ref: HubFileRef, signal?: AbortSignal): Promise<Map<string, PublishedChecksum>> {
    const api = `${ref.origin}/api/models/${ref.repo}/tree/${encodeURIComponent(ref.revision)}?recursive=true`;
    let body: unknown;
    try {
      const res = await fetch(api, { signal, headers: { accept: 'application/json' } });
      if (!res.ok) throw new HubChecksumError(`HTTP ${res.status}`);
      body = await res.json();
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new HubChecksumError(`could not read the published checksums of ${ref.repo} (${api}): ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!Array.isArray(body)) throw new HubChecksumError(`the file listing of ${ref.repo} is not a list`);
    const out = new Map<string, PublishedChecksum>();
    for (const e of body) {
      if (!isTreeEntry(e) || e.type === 'directory' || typeof e.size !== 'number') continue;
      const lfsSha = e.lfs && typeof e.lfs.oid === 'string' && /^[0-9a-f]{64}$/.test(e.lfs.oid) ? e.lfs.oid : null;
      const blob = !lfsSha && typeof e.oid === 'string' && /^[0-9a-f]{40}$/.test(e.oid) ? e.oid : null;
      if (!lfsSha && !blob) continue;
      out.set(e.path!, { size: e.lfs?.size ?? e.size, sha256: lfsSha, gitBlobSha1: blob });
    }
    return out;
  }
}
