import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stateDirFor } from '../catalog/catalog-paths';
import { DEFAULT_EXCLUDES } from '../scan/ignore-rules';
import { stderrLogger, type Logger } from './log';
import { RootService } from './root-service';
import { LoupeServer } from './server';

export interface ServeOptions {
  roots: string[];
  port: number;
  excludes: readonly string[];
  watch: boolean;
  idleMinutes: number;
  parentPid: number | null;
  logger: Logger;
}

interface ServerRecord {
  pid: number;
  port: number;
  startedAt: string;
}

/** Names the process holding a root's catalog, if it left a record. */
function describeHolder(root: string): string {
  try {
    const record = JSON.parse(readFileSync(join(stateDirFor(root), 'server.json'), 'utf8')) as ServerRecord;
    process.kill(record.pid, 0);
    return `another Loupe server (pid ${record.pid}, port ${record.port}) is already serving ${root}`;
  } catch {
    return `another Loupe process is using the catalog of ${root}`;
  }
}

export function parseServeArgs(args: string[], logger: Logger = stderrLogger): ServeOptions {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      root: { type: 'string', multiple: true },
      port: { type: 'string' },
      exclude: { type: 'string', multiple: true },
      'no-watch': { type: 'boolean' },
      'idle-timeout': { type: 'string' },
      'parent-pid': { type: 'string' },
    },
  });
  const roots = (values.root ?? []).map((r) => resolve(r));
  if (roots.length === 0) throw new Error('serve needs at least one --root <dir>');
  for (const r of roots) {
    if (!existsSync(r) || !statSync(r).isDirectory()) throw new Error(`${r}: not a folder`);
  }
  const port = values.port ? Number(values.port) : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be 0..65535');
  const idleMinutes = values['idle-timeout'] ? Number(values['idle-timeout']) : 0;
  if (!Number.isFinite(idleMinutes) || idleMinutes < 0) throw new Error('--idle-timeout must be minutes (0 = never)');
  return {
    roots: [...new Set(roots)],
    port,
    excludes: values.exclude ?? DEFAULT_EXCLUDES,
    watch: !values['no-watch'],
    idleMinutes,
    parentPid: values['parent-pid'] ? Number(values['parent-pid']) : null,
    logger,
  };
}

/**
 * `loupe serve`: opens every root (single writer per catalog), listens on loopback, prints the
 * handshake line, indexes in the background, and shuts down on signals, parent death or idleness.
 */
export async function serve(options: ServeOptions): Promise<number> {
  const { logger } = options;
  const roots: RootService[] = [];
  try {
    for (const root of options.roots) {
      try {
        roots.push(await RootService.open(root, { excludes: options.excludes, watch: options.watch, logger }));
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new Error(/in use by another Loupe process/.test(msg) ? describeHolder(root) : msg);
      }
    }
  } catch (err) {
    for (const r of roots) await r.close();
    throw err;
  }

  let shuttingDown = false;
  let idleTimer: NodeJS.Timeout | null = null;
  const server = new LoupeServer({
    roots,
    port: options.port,
    logger,
    onClientCount: (n) => armIdle(n),
    onShutdownRequest: () => void shutdown('client asked to shut down'),
  });

  const records: string[] = [];
  let exitWith: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolveDone) => {
    exitWith = resolveDone;
  });

  async function shutdown(reason: string): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.log('info', `shutting down: ${reason}`);
    const force = setTimeout(() => {
      logger.log('error', 'shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    if (idleTimer) clearTimeout(idleTimer);
    clearInterval(parentWatch);
    await server.close();
    for (const r of roots) await r.close();
    for (const rec of records) rmSync(rec, { force: true });
    clearTimeout(force);
    exitWith(0);
  }

  function armIdle(clients: number): void {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = null;
    if (clients === 0 && options.idleMinutes > 0) {
      idleTimer = setTimeout(() => void shutdown(`no client for ${options.idleMinutes} min`), options.idleMinutes * 60_000);
    }
  }

  // Parent death: on Linux/macOS an orphan is re-parented, so ppid changes; an explicit --parent-pid is checked too.
  const originalPpid = process.ppid;
  const parentWatch = setInterval(() => {
    if (process.ppid !== originalPpid) void shutdown('parent process exited');
    else if (options.parentPid !== null) {
      try {
        process.kill(options.parentPid, 0);
      } catch {
        void shutdown(`parent process ${options.parentPid} exited`);
      }
    }
  }, 1000);
  parentWatch.unref();

  // One bad message or client must never take down the index for everyone else.
  process.on('uncaughtException', (err) => logger.log('error', `uncaught: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => logger.log('error', `unhandled rejection: ${err instanceof Error ? err.stack ?? err.message : String(err)}`));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.stdin.on('error', () => undefined);

  const handshake = await server.listen();
  for (const r of roots) {
    const rec = join(r.catalog.stateDir, 'server.json');
    writeFileSync(rec, JSON.stringify({ pid: process.pid, port: handshake.port, startedAt: new Date().toISOString() } satisfies ServerRecord));
    records.push(rec);
  }
  process.stdout.write(`${JSON.stringify(handshake)}\n`);
  logger.log('info', `serving ${roots.map((r) => r.root).join(', ')} on 127.0.0.1:${handshake.port}`);
  armIdle(0);
  for (const r of roots) r.requestRun('start-up');
  return done;
}
