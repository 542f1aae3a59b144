import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { dirname } from 'node:path';

export interface DownloadProgress {
  received: number;
  total: number | null;
}

export interface DownloadOptions {
  url: string;
  target: string;
  /** Null: not pinned; the download is kept whatever its hash (which is returned). */
  expectedSha256: string | null;
  expectedSize?: number;
  /** Network attempts, each resuming from what is already on disk. */
  attempts?: number;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
}

export class DownloadError extends Error {
  constructor(message: string, readonly kind: 'network' | 'hash' | 'http' | 'insecure') {
    super(message);
    this.name = 'DownloadError';
  }
}

/** Models come over HTTPS; plain HTTP is allowed only from this machine (tests serve files locally). */
export function checkUrlAllowed(url: string): void {
  const u = new URL(url);
  if (u.protocol === 'https:') return;
  if (u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) return;
  throw new DownloadError(`refusing to download over ${u.protocol} from ${u.host}: only HTTPS is allowed`, 'insecure');
}

async function hashExisting(path: string): Promise<{ hash: ReturnType<typeof createHash>; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const s = createReadStream(path);
      s.on('data', (c) => {
        hash.update(c);
        size += c.length;
      });
      s.on('end', resolve);
      s.on('error', reject);
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { hash, size };
}

/**
 * Downloads `url` to `target` through `target.part`: resumes a partial file with a Range request,
 * verifies the sha256 of the whole file, and renames it into place only when it matches.
 */
export async function downloadVerified(options: DownloadOptions): Promise<string> {
  checkUrlAllowed(options.url);
  const part = `${options.target}.part`;
  await fsp.mkdir(dirname(options.target), { recursive: true });
  const attempts = options.attempts ?? 4;
  let lastError: unknown = null;

  for (let attempt = 0; attempt < attempts; attempt++) {
    options.signal?.throwIfAborted();
    let { hash, size: have } = await hashExisting(part);
    if (options.expectedSize !== undefined && have > options.expectedSize) {
      await fsp.rm(part, { force: true });
      ({ hash, size: have } = await hashExisting(part));
    }
    try {
      const headers: Record<string, string> = {};
      if (have > 0) headers.Range = `bytes=${have}-`;
      const res = await fetch(options.url, { headers, signal: options.signal, redirect: 'follow' });
      // A redirect must not downgrade the transport either.
      if (res.url) checkUrlAllowed(res.url);
      if (res.status === 416 && have > 0) {
        // Already complete on disk: fall through to verification.
      } else if (!res.ok || !res.body) {
        throw new DownloadError(`HTTP ${res.status} ${res.statusText} from ${options.url}`, 'http');
      } else {
        if (res.status === 200 && have > 0) {
          // Server ignored the range: start over.
          await fsp.rm(part, { force: true });
          hash = createHash('sha256');
          have = 0;
        }
        const lengthHeader = res.headers.get('content-length');
        const total = lengthHeader ? have + Number(lengthHeader) : (options.expectedSize ?? null);
        const file = await fsp.open(part, 'a');
        try {
          let received = have;
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            await file.write(chunk);
            hash.update(chunk);
            received += chunk.length;
            options.onProgress?.({ received, total });
          }
        } finally {
          await file.close();
        }
      }
      const digest = hash.digest('hex');
      if (options.expectedSha256 !== null && digest !== options.expectedSha256) {
        await fsp.rm(part, { force: true });
        throw new DownloadError(`sha256 mismatch: expected ${options.expectedSha256}, got ${digest}`, 'hash');
      }
      await fsp.rename(part, options.target);
      return digest;
    } catch (err) {
      if (err instanceof DownloadError && err.kind !== 'network') throw err;
      if (options.signal?.aborted) throw err;
      lastError = err;
      // Network failure: keep the partial file and resume on the next attempt.
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
    }
  }
  throw new DownloadError(`download failed after ${attempts} attempts: ${lastError instanceof Error ? lastError.message : String(lastError)}`, 'network');
}
