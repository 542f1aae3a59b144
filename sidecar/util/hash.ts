import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Content hash used for identity (moves, exact duplicates, thumbnail names). */
export function hashBuffer(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hashFile(path: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const stream = createReadStream(path, { signal });
    stream.on('data', (chunk) => hash.update(chunk));
    stream.on('error', reject);
    stream.on('end', () => resolve(hash.digest('hex')));
  });
}
