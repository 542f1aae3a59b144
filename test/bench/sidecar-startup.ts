/**
 * sidecar-startup: how long the extension waits for its sidecar, measured the way the extension
 * starts it (extension/sidecar-process.ts + an authenticated WebSocket + LSP `initialize`):
 * spawn -> handshake line (listening) -> initialize answered (ready), over a folder that is already
 * indexed (the usual editor start) and over an empty one.
 *
 *   LOUPE_BENCH_STARTUP_REPEATS=9
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createMessageConnection } from 'vscode-jsonrpc/node';
import { startSidecar, stopSidecar } from '../../extension/sidecar-process';
import { openAuthenticatedSocket } from '../../sidecar/client/connect';
import { InitializeRequest, IndexStatusRequest } from '../../sidecar/protocol';
import { WebSocketMessageReader, WebSocketMessageWriter } from '../../sidecar/ws-transport';
import { benchTmpDir, envInt, log, machineInfo, REPO_ROOT, round, stats, writeResult, type Benchmark, type BenchResult } from './common';
import { SHARED_DATA } from './fixtures';

const NAME = 'sidecar-startup';
const CLI = join(REPO_ROOT, 'bin', 'loupe.mjs');

async function once(root: string): Promise<{ listeningMs: number; readyMs: number; images: number }> {
  const t0 = performance.now();
  const started = await startSidecar({ execPath: process.execPath, script: CLI, args: ['serve', '--root', root, '--parent-pid', String(process.pid)], env: {} }, () => undefined);
  const socket = await openAuthenticatedSocket(started.handshake);
  const rpc = createMessageConnection(new WebSocketMessageReader(socket), new WebSocketMessageWriter(socket));
  rpc.listen();
  await rpc.sendRequest(InitializeRequest, { processId: process.pid, capabilities: { window: { workDoneProgress: true } } });
  const readyMs = performance.now() - t0;
  const { roots } = await rpc.sendRequest(IndexStatusRequest, {});
  rpc.dispose();
  socket.close();
  await stopSidecar(started.child);
  return { listeningMs: started.startMs, readyMs, images: roots[0].images };
}

async function run(): Promise<BenchResult> {
  const repeats = envInt('LOUPE_BENCH_STARTUP_REPEATS', 9);
  const base = mkdtempSync(join(benchTmpDir(), 'startup-'));
  const indexed = join(base, 'indexed');
  const empty = join(base, 'empty');
  mkdirSync(indexed, { recursive: true });
  mkdirSync(empty, { recursive: true });
  const nature = join(SHARED_DATA, 'text2image', 'nature');
  for (const f of readdirSync(nature).filter((n) => n.endsWith('.jpg'))) copyFileSync(join(nature, f), join(indexed, f));
  execFileSync(process.execPath, [CLI, 'index', indexed], { stdio: 'ignore' });

  const rows: Record<string, Array<{ listeningMs: number; readyMs: number }>> = { indexed: [], empty: [] };
  for (let i = 0; i < repeats; i++) {
    rows.indexed.push(await once(indexed));
    rows.empty.push(await once(empty));
  }
  const summary = Object.fromEntries(
    Object.entries(rows).map(([k, v]) => [k, { listeningMs: stats(v.map((r) => r.listeningMs), 1), readyMs: stats(v.map((r) => r.readyMs), 1) }]),
  );
  const headline = `sidecar ready (spawn -> initialize) median ${round(summary.indexed.readyMs.median, 0)} ms on an indexed folder, ${round(summary.empty.readyMs.median, 0)} ms empty`;
  return {
    name: NAME,
    description: 'Sidecar start-to-ready as the extension sees it',
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    fullSize: repeats === 9,
    params: { repeats },
    machine: machineInfo(),
    notes: [
      'listeningMs: spawn to the handshake line; readyMs: spawn to the answer of LSP initialize over the authenticated WebSocket (what vscode-languageclient waits for).',
      'The extension activation time is measured inside code-server by the e2e test (its timings line).',
    ],
    headline,
    results: { summary },
  };
}

export const benchmark: Benchmark = { name: NAME, run };
