/**
 * Runs a real VS Code (code-server, installed by test/e2e/setup.sh) with the Loupe extension from this
 * checkout, fresh user-data and extension folders, and drives it with playwright-core in Debian's
 * Chromium. Everything is killed by process group at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const REPO = resolve(__dirname, '..', '..');
const CODE_SERVER = join(REPO, 'test', 'e2e', '.tools', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const CHROMIUM = process.env.LOUPE_E2E_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(REPO, 'test', 'e2e', 'screenshots');

export function e2eAvailable(): string | null {
  if (!existsSync(CODE_SERVER)) return `code-server is not installed (run: bash test/e2e/setup.sh)`;
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install chromium)`;
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

export interface VsCodeSession {
  settings: Record<string, unknown>;
  page: Page;
  browser: Browser;
  server: ChildProcess;
  port: number;
  log: () => string;
  close(): Promise<void>;
}

export interface StartOptions {
  workspace: string;
  /** Scratch folder for user data, extensions and config. */
  scratch: string;
  settings: Record<string, unknown>;
  /** Ask about workspace trust as VS Code normally does (default: trust is off, everything trusted). */
  askTrust?: boolean;
  /** Install this .vsix; without it the checkout itself is linked in. */
  vsix?: string;
  env?: Record<string, string>;
}

export async function startVsCode(options: StartOptions): Promise<VsCodeSession> {
  const userData = join(options.scratch, 'user-data');
  const extensions = join(options.scratch, 'extensions');
  mkdirSync(join(userData, 'User'), { recursive: true });
  mkdirSync(extensions, { recursive: true });
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify(options.settings, null, 2));
  if (options.vsix) {
    // The packaged extension, installed the way a user installs it.
    const r = spawnSync(process.execPath, [CODE_SERVER, '--install-extension', options.vsix, '--extensions-dir', extensions, '--user-data-dir', userData], {
      encoding: 'utf8',
      env: { ...process.env, EXTENSIONS_GALLERY: '{}' },
      timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`installing ${options.vsix} failed:\n${r.stdout}\n${r.stderr}`);
  } else {
    // This checkout (its dist/ and node_modules), linked in as if installed.
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
    symlinkSync(REPO, join(extensions, `${pkg.publisher}.${pkg.name}-${pkg.version}`), 'dir');
  }
  const config = join(options.scratch, 'config.yaml');
  const port = await freePort();
  writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);

  let log = '';
  const server = spawn(
    process.execPath,
    [
      CODE_SERVER,
      '--config', config,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--user-data-dir', userData,
      '--extensions-dir', extensions,
      '--disable-telemetry',
      '--disable-update-check',
      ...(options.askTrust ? [] : ['--disable-workspace-trust']),
      '--disable-getting-started-override',
      options.workspace,
    ],
    {
      env: { ...process.env, EXTENSIONS_GALLERY: '{}', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, killed as a whole
    },
  );
  server.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const killGroup = () => {
    try {
      process.kill(-server.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killGroup);

  const deadline = Date.now() + 60_000;
  while (!/HTTP server listening/.test(log)) {
    if (server.exitCode !== null) throw new Error(`code-server exited:\n${log}`);
    if (Date.now() > deadline) throw new Error(`code-server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-quic', '--no-first-run', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `http://127.0.0.1:${port}` });
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(options.workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });

  return {
    settings: options.settings,
    page,
    browser,
    server,
    port,
    log: () => log,
    async close() {
      await browser.close().catch(() => undefined);
      // SIGTERM first so the extension host can stop the sidecar cleanly; then the whole group goes.
      try {
        process.kill(-server.pid!, 'SIGTERM');
      } catch {
        // gone
      }
      await new Promise((r) => setTimeout(r, 1500));
      killGroup();
      process.removeListener('exit', killGroup);
    },
  };
}

/** Runs a command from the command palette by its title. */
export async function runCommand(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 5_000 });
      break;
    } catch (err) {
      // Focus was inside a webview (an image preview, the gallery), which keeps F1: focus the workbench.
      if (attempt >= 3) throw err;
      await page.locator('.part.statusbar').click({ position: { x: 2, y: 2 } }).catch(() => undefined);
      await page.locator('.part.editor .tab.active, .part.sidebar .title').first().click().catch(() => undefined);
    }
  }
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: 20_000 });
  await page.keyboard.press('Enter');
}

export async function screenshot(page: Page, name: string, shots: string[]): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${String(shots.length + 1).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path });
  shots.push(path);
}

/** The extension's own log (its output channel), for failures. */
export function loupeLog(userData: string): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/Loupe\.log$/.test(e.name)) out.push(readFileSync(p, 'utf8').split('\n').slice(-60).join('\n'));
    }
  };
  try {
    walk(join(userData, 'logs'));
  } catch {
    // no logs yet
  }
  return out.join('\n');
}

