/**
 * `npm run stress:load`: a large library under use. Small varied images arrive in batches (indexed
 * incrementally by the live watcher) up to LOUPE_STRESS_IMAGES (default 100,000), while 20 clients
 * search continuously and files churn (LOUPE_STRESS_CHURN adds/renames/deletes, default 1,000). At the
 * end every answer must be right: each file on disk is indexed once under its current name, deleted and
 * renamed-away names are gone. Prints latency figures and peak sidecar memory as JSON.
 * LOUPE_STRESS_THINK_MS (default 250) is each client's pause between searches; LOUPE_STRESS_ANALYZERS
 * (default none: hashes, thumbnails, names) which analyzers run.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { connectToSidecar } from '../../sidecar/client/connect';
import type { IndexStatusResult, ProcessMemory, SearchResponse } from '../../sidecar/protocol';
import { startSidecar, waitFor } from '../helpers/sidecar';
import { SHARED, tempDir } from '../helpers/temp';

const IMAGES = Number(process.env.LOUPE_STRESS_IMAGES ?? 100_000);
const CHURN = Number(process.env.LOUPE_STRESS_CHURN ?? 1_000);
const CLIENTS = 20;
// Each client waits this long between searches (a person typing with the gallery's debounce).
const THINK_MS = Number(process.env.LOUPE_STRESS_THINK_MS ?? 250);
// Analyzers that run on every image: hashes, thumbnails and file-name search always; tags etc. on request.
const ANALYZERS = process.env.LOUPE_STRESS_ANALYZERS ?? 'none';
const WORDS = ['sunset', 'beach', 'dog', 'cat', 'mountain', 'lake', 'portrait', 'diagram', 'receipt', 'forest', 'city', 'night', 'snow', 'flower', 'car'];

function pct(sorted: number[], q: number): number {
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10 : NaN;
}

function hwmMB(pid: number): number {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024);
}

async function main(): Promise<void> {
  const root = tempDir('loupe-load-');
  // 64 small base images of different sizes and colours; each file gets its own pixels (its number is stamped
  // into the first row), so every file is a distinct image to decode, hash and thumbnail.
  const variants = await Promise.all(
    Array.from({ length: 64 }, (_, i) =>
      sharp({ create: { width: 48 + (i % 5) * 16, height: 40 + (i % 3) * 16, channels: 3, background: { r: (i * 37) % 256, g: (i * 91) % 256, b: (i * 53) % 256 } } })
        .raw()
        .toBuffer({ resolveWithObject: true }),
    ),
  );
  const imageOf = (n: number): Promise<Buffer> => {
    const { data, info } = variants[n % variants.length];
    const pixels = Buffer.from(data);
    for (let bit = 0; bit < 32; bit++) pixels.fill((n >>> bit) & 1 ? 255 : 0, bit * 3, bit * 3 + 3);
    return sharp(pixels, { raw: { width: info.width, height: info.height, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
  };
  const nameOf = (i: number) => join(`batch-${Math.floor(i / 5000)}`, `${WORDS[i % WORDS.length]}-${WORDS[(i * 7) % WORDS.length]}-${i}.png`);
  const write = async (i: number) => {
    if (i % 5000 === 0) mkdirSync(join(root, `batch-${i / 5000}`), { recursive: true });
    writeFileSync(join(root, nameOf(i)), await imageOf(i));
  };
  const batch = Math.max(1000, Math.floor(IMAGES / 10));
  for (let i = 0; i < batch; i++) await write(i);

  const sidecar = await startSidecar([root], [], { LOUPE_MODELS_DIR: join(SHARED, 'models'), LOUPE_ANALYZERS: ANALYZERS });
  const pid = sidecar.child.pid!;
  const conns = await Promise.all(Array.from({ length: CLIENTS }, () => connectToSidecar(sidecar.handshake)));
  for (const c of conns) await c.connection.sendRequest('initialize', { capabilities: {} });
  const latencies: number[] = [];
  let searching = true;
  let errors = 0;
  const clients = conns.map(async (c, k) => {
    let n = k;
    while (searching) {
      const q = `${WORDS[n++ % WORDS.length]}${n % 3 === 0 ? ` ${WORDS[(n * 5) % WORDS.length]}` : ''}`;
      const t = performance.now();
      try {
        await c.connection.sendRequest('search', { query: q, limit: 50 });
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
      await new Promise((r) => setTimeout(r, THINK_MS));
    }
  });

  // Where the memory is, every few seconds: the sample at the largest rss says what peaks.
  const samples: ProcessMemory[] = [];
  const sampler = setInterval(() => {
    conns[0].connection
      .sendRequest('index/status', {})
      .then((s) => samples.push((s as IndexStatusResult).memory))
      .catch(() => undefined);
  }, 5000);

  const t0 = Date.now();
  // Further batches arrive while the first are indexed; the watcher picks them up.
  for (let start = batch; start < IMAGES; start += batch) {
    await waitFor('the previous batch', async () => {
      const s = (await conns[0].connection.sendRequest('index/status', {})) as IndexStatusResult;
      return s.roots[0].images >= start * 0.5;
    }, 3_600_000);
    for (let i = start; i < Math.min(IMAGES, start + batch); i++) await write(i);
    process.stderr.write(`${Math.min(IMAGES, start + batch)} files written\n`);
  }
  // Churn: adds, renames and deletes while the index catches up.
  const gone = new Set<string>();
  const renamed = new Map<string, string>();
  let adds = 0;
  for (let k = 0; k < CHURN; k++) {
    const i = Math.floor((k * 7919) % IMAGES);
    const kind = k % 3;
    const path = nameOf(i);
    if (kind === 0) {
      adds++;
      mkdirSync(join(root, 'added'), { recursive: true });
      writeFileSync(join(root, 'added', `new-${k}.png`), await imageOf(IMAGES + k));
    } else if (gone.has(path) || renamed.has(path)) {
      continue;
    } else if (kind === 1) {
      const to = path.replace(/\.png$/, '-renamed.png');
      renameSync(join(root, path), join(root, to));
      renamed.set(path, to);
    } else {
      rmSync(join(root, path));
      gone.add(path);
    }
  }
  const total = IMAGES + adds - gone.size;
  await waitFor('everything indexed', async () => {
    const s = (await conns[0].connection.sendRequest('index/status', {})) as IndexStatusResult;
    return s.roots[0].state === 'idle' && s.roots[0].images === total && s.roots[0].pending === 0;
  }, 3_600_000);
  const seconds = (Date.now() - t0) / 1000;
  searching = false;
  clearInterval(sampler);
  await Promise.all(clients);

  // Right answers after all that: renamed files are found under their new name only, deleted ones not at all.
  const c = conns[0].connection;
  for (const [from, to] of [...renamed].slice(0, 20)) {
    const stem = to.split('/').pop()!.replace(/\.png$/, '');
    const r = (await c.sendRequest('search', { query: `"${stem}"`, limit: 5 })) as SearchResponse;
    assert.ok(r.items.some((h) => h.relPath === to), `${to} is found`);
    assert.ok(!r.items.some((h) => h.relPath === from), `${from} is gone`);
  }
  for (const path of [...gone].slice(0, 20)) {
    const stem = path.split('/').pop()!.replace(/\.png$/, '');
    const r = (await c.sendRequest('search', { query: `"${stem}"`, limit: 5 })) as SearchResponse;
    assert.ok(!r.items.some((h) => h.relPath === path), `${path} was deleted`);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const out = {
    images: IMAGES,
    clients: CLIENTS,
    thinkMs: THINK_MS,
    analyzers: ANALYZERS,
    churn: { adds, renames: renamed.size, deletes: gone.size },
    indexedAtEnd: total,
    seconds: Math.round(seconds),
    imagesPerSecond: Math.round((total / seconds) * 10) / 10,
    searches: sorted.length,
    searchErrors: errors,
    searchMs: { p50: pct(sorted, 0.5), p90: pct(sorted, 0.9), p99: pct(sorted, 0.99), max: pct(sorted, 1) },
    sidecarPeakRssMB: hwmMB(pid),
    memory: {
      samples: samples.length,
      atLargestRss: samples.reduce<ProcessMemory | null>((a, b) => (a && a.rssMB >= b.rssMB ? a : b), null),
      maxHeapUsedMB: Math.max(...samples.map((m) => m.heapUsedMB)),
      maxExternalMB: Math.max(...samples.map((m) => m.externalMB)),
      maxNativeMB: Math.max(...samples.map((m) => m.nativeMB)),
      atEnd: samples[samples.length - 1] ?? null,
    },
  };
  for (const cc of conns) cc.close();
  await sidecar.stop();
  console.log(JSON.stringify(out, null, 2));
  assert.equal(errors, 0, 'every search was answered');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exitCode = 1;
});
