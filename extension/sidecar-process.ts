/**
 * Starting the bundled sidecar as a child process and reading its handshake line. No VS Code imports:
 * the extension passes its paths and settings in, and tests run it against the real sidecar.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ServerHandshake } from '../sidecar/protocol';

export interface SidecarLaunch {
  /** The runtime: the editor's own Node (`process.execPath`). */
  execPath: string;
  /** dist/sidecar.js inside the extension. */
  script: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

export interface StartedSidecar {
  child: ChildProcess;
  handshake: ServerHandshake;
  /** Milliseconds from spawn to the handshake line (the server listening). */
  startMs: number;
}

export class SidecarStartError extends Error {
  constructor(message: string, readonly stderrTail: string) {
    super(message);
  }
}

/** Parses the handshake line; null for anything else (a log line that slipped onto stdout). */
export function parseHandshake(line: string): ServerHandshake | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.port !== 'number' || typeof v.token !== 'string' || typeof v.pid !== 'number') return null;
  return { port: v.port, token: v.token, pid: v.pid, version: String(v.version ?? ''), protocol: Number(v.protocol ?? 0) };
}

/**
 * Spawns the sidecar and resolves once it prints its handshake. Its stderr (the log) goes to `onLog`
 * line by line for as long as it runs. Rejects, killing the child, if it exits or stays silent.
 */
export function startSidecar(launch: SidecarLaunch, onLog: (line: string) => void, timeoutMs = 60_000): Promise<StartedSidecar> {
  const t0 = performance.now();
  // ELECTRON_RUN_AS_NODE makes the desktop editor's Electron binary behave as plain Node.
  const child = spawn(launch.execPath, [launch.script, ...launch.args], {
    cwd: launch.cwd,
    env: { ...process.env, ...launch.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  const tail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    onLog(line);
  });
  return new Promise<StartedSidecar>((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill();
      reject(new SidecarStartError(message, tail.join('\n')));
    };
    const timer = setTimeout(() => fail(`the Loupe sidecar did not start within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    child.once('error', (err) => fail(`could not start the Loupe sidecar: ${err.message}`));
    child.once('exit', (code, signal) => fail(`the Loupe sidecar exited during start-up (${signal ?? `code ${code}`})${tail.length ? `: ${tail[tail.length - 1]}` : ''}`));
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (settled) return;
      const handshake = parseHandshake(line);
      if (!handshake) {
        onLog(line);
        return;
      }
      settled = true;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, handshake, startMs: performance.now() - t0 });
    });
  });
}

/** Stops a sidecar: SIGTERM (it shuts down cleanly, closing catalogs), then SIGKILL after `graceMs`. */
export async function stopSidecar(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
