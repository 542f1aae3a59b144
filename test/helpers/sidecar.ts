import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ServerHandshake } from '../../sidecar/protocol';
import { CLI, REPO, ensureBuilt } from './cli';

export interface RunningSidecar {
  child: ChildProcess;
  handshake: ServerHandshake;
  log: string[];
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Spawns `loupe serve` for real and waits for its handshake line. */
export async function startSidecar(roots: string[], extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningSidecar> {
  ensureBuilt();
  const args = [CLI, 'serve', ...roots.flatMap((r) => ['--root', r]), ...extraArgs];
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const log: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => log.push(l));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const handshake = await new Promise<ServerHandshake>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no handshake; log:\n${log.join('\n')}`)), 20_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as ServerHandshake);
      } catch (err) {
        reject(err);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited with ${code} before its handshake:\n${log.join('\n')}`));
    });
  });
  return {
    child,
    handshake,
    log,
    exited,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 90_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
