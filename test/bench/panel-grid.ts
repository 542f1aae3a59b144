/**
 * panel-grid and gallery-grid: are the panel's result grid and the gallery sidebar's thumbnail grid
 * smooth with a large library? A real sidecar serves the
 * 100,000-file tree of the server-search benchmark (catalog seeded, see there); the panel runs in
 * headless Chromium (the component-test harness), pages results in until 50,000 are loaded, then
 * scrolls: 300 frames of steady scrolling (frame-to-frame time) and 40 jumps to random positions (time
 * until the jumped-to cells are painted). Thumbnails: the seeded catalog has none, so 20 real WebP
 * thumbnails stand in (so decoding and painting images is part of the cost).
 *
 * Needs Chromium (test/e2e/setup.sh). LOUPE_BENCH_GRID_ITEMS=50000
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { connectToSidecar } from '../../sidecar/client/connect';
import type { Page } from 'playwright-core';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { openGallery, openPanel } from '../e2e/panel-harness';
import { e2eAvailable } from '../e2e/code-server';
import { startSidecar } from '../helpers/sidecar';
import { benchTmpDir, envInt, log, machineInfo, round, stats, type Benchmark, type BenchResult } from './common';
import { ensureTree, seedCatalog } from './server-search';

interface GridSpec {
  name: string;
  description: string;
  /** Opens the webview over the sidecar connection. */
  open(rpc: MessageConnection, dirs: string[], standIns: string[]): Promise<{ page: Page; close(): Promise<void> }>;
  canvas: string;
  scroller: string;
  params: Record<string, unknown>;
}

async function measureGrid(spec: GridSpec): Promise<BenchResult> {
  const NAME = spec.name;
  const missing = e2eAvailable();
  if (missing) throw new Error(missing);
  const target = envInt('LOUPE_BENCH_GRID_ITEMS', 50_000);
  const root = await ensureTree(100_000);
  await seedCatalog(root);
  const thumbs = join(benchTmpDir(), 'grid-thumbs');
  mkdirSync(thumbs, { recursive: true });
  const standIns: string[] = [];
  for (let i = 0; i < 20; i++) {
    const p = join(thumbs, `t${i}.webp`);
    if (!existsSync(p)) {
      await sharp({ create: { width: 256, height: 192, channels: 3, background: { r: (i * 37) % 255, g: (i * 91) % 255, b: (i * 53) % 255 } } })
        .composite([{ input: Buffer.from(`<svg width="256" height="192"><circle cx="${60 + i * 7}" cy="96" r="50" fill="white" opacity="0.6"/></svg>`) }])
        .webp()
        .toFile(p);
    }
    standIns.push(p);
  }
  const sidecar = await startSidecar([root], ['--no-watch'], { LOUPE_ANALYZERS: 'none' });
  const conn = await connectToSidecar(sidecar.handshake);
  await conn.connection.sendRequest('initialize', { capabilities: {} });
  const panel = await spec.open(conn.connection, [root, thumbs], standIns);
  const { page } = panel;
  try {
    await page.locator('.cell').first().waitFor({ timeout: 60_000 });
    const t0 = Date.now();
    // Page results in the way a user does: scrolling near the end asks for the next page.
    for (;;) {
      const loaded = Number(await page.locator(spec.canvas).getAttribute('data-items'));
      if (loaded >= target) break;
      await page.evaluate((sel) => {
        const s = document.querySelector(sel)!;
        s.scrollTop = s.scrollHeight;
      }, spec.scroller);
      await page.waitForFunction((a) => Number(document.querySelector(a.sel)?.getAttribute('data-items')) > a.n, { sel: spec.canvas, n: loaded }, { timeout: 30_000 }).catch(async (err: unknown) => {
        throw new Error(`paging stopped at ${loaded}: ${(await page.locator('body').innerText()).slice(0, 300)} (${String(err)})`);
      });
    }
    const loadSeconds = (Date.now() - t0) / 1000;
    const loaded = Number(await page.locator(spec.canvas).getAttribute('data-items'));
    log(`${NAME}: ${loaded} results loaded in ${round(loadSeconds, 1)} s`);
    // A string, not a function: the test runner's transpiler would add helpers the page does not have.
    const measured = (await page.evaluate(`(async () => {
      const s = document.querySelector(${JSON.stringify(spec.scroller)}) ;
      const frame = () => new Promise((r) => requestAnimationFrame((t) => r(t)));
      s.scrollTop = 0;
      await frame();
      const steady = [];
      let last = await frame();
      for (let i = 0; i < 300; i++) {
        s.scrollTop += 240;
        const t = await frame();
        steady.push(t - last);
        last = t;
      }
      const jumps = [];
      let seed = 7;
      for (let i = 0; i < 40; i++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const start = performance.now();
        s.scrollTop = (seed / 2 ** 31) * (s.scrollHeight - s.clientHeight);
        await frame();
        await frame(); // the frame after the scroll event has re-rendered the window
        jumps.push(performance.now() - start);
      }
      return { steady, jumps, domCells: document.querySelectorAll('.cell').length };
    })()`)) as { steady: number[]; jumps: number[]; domCells: number };
    const steady = stats(measured.steady, 2);
    const jumps = stats(measured.jumps, 2);
    return {
      name: NAME,
      description: spec.description,
      startedAt: new Date(t0).toISOString(),
      finishedAt: new Date().toISOString(),
      fullSize: target === 50_000,
      params: { target, ...spec.params },
      machine: machineInfo(),
      notes: [
        'Headless Chromium with --disable-gpu (software compositing) on a 2-core machine shared with other jobs: slower than a desktop editor.',
        'steady: requestAnimationFrame-to-frame times while scrolling 240 px per frame; jump: time from setting scrollTop to a random place until two frames later.',
        'domCells: grid cells in the DOM after the run (only the visible rows and two rows of overscan exist).',
      ],
      headline: `${loaded.toLocaleString('en-US')} results: steady scroll frame median ${steady.median} ms (p90 ${steady.p90} ms, max ${steady.max} ms), jump-to-position median ${jumps.median} ms (p90 ${jumps.p90} ms), ${measured.domCells} cells in the DOM; paging them in took ${round(loadSeconds, 1)} s`,
      results: { loaded, loadSeconds: round(loadSeconds, 2), steadyFrameMs: steady, jumpMs: jumps, domCells: measured.domCells },
    };
  } finally {
    await panel.close();
    conn.close();
    await sidecar.stop();
  }
}

export const benchmark: Benchmark = {
  name: 'panel-grid',
  run: () =>
    measureGrid({
      name: 'panel-grid',
      description: 'Panel result grid: frame times while scrolling 50,000 results in headless Chromium',
      open: (rpc, dirs, standIns) => openPanel(rpc, dirs, { theme: 'dark', thumbnailStandIns: standIns }),
      canvas: '.grid-canvas',
      scroller: '.grid-scroller',
      params: { pageSize: 200 },
    }),
};

export const galleryBenchmark: Benchmark = {
  name: 'gallery-grid',
  run: () =>
    measureGrid({
      name: 'gallery-grid',
      description: 'Gallery sidebar grid: frame times while scrolling 50,000 thumbnails in headless Chromium at sidebar width (320 px)',
      open: (rpc, dirs, standIns) => openGallery(rpc, dirs, { theme: 'dark', thumbnailStandIns: standIns, width: 320 }),
      canvas: '#canvas',
      scroller: '#scroller',
      params: { pageSize: 300, width: 320 },
    }),
};
