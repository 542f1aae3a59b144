/**
 * The extension's logic that does not need a running VS Code: link building, alt text, cursor-link
 * detection, completion queries, settings -> sidecar command line, restart back-off, status text,
 * the gallery's virtual grid, and starting the real sidecar the way the extension does (handshake,
 * authenticated socket, the RPCs the extension relies on).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createMessageConnection } from 'vscode-jsonrpc/node';
import { RestartPolicy } from '../extension/backoff';
import { altTextFor, completionQuery, flavourFor, humaniseFileName, imageLink, imageLinkAt, isExternalTarget, pastedFilePaths, relativeImagePath } from '../extension/markdown-links';
import { describeReasons, formatBytes, resultWarnings, summariseStatus } from '../extension/present';
import { readSettings, resolveRoots, serveCommand, DEFAULT_SETTINGS } from '../extension/settings';
import { parseHandshake, startSidecar, stopSidecar } from '../extension/sidecar-process';
import { openAuthenticatedSocket } from '../sidecar/client/connect';
import { AssetByPathRequest, FilesRestoreRequest, FilesTrashRequest, IndexStatusRequest, InitializeRequest, SearchRequest, type RootStatus } from '../sidecar/protocol';
import { WebSocketMessageReader, WebSocketMessageWriter } from '../sidecar/ws-transport';
import { columnsFor, moveFocus, totalHeight, visibleRange } from '../webview/gallery/grid-layout';
import { composeQuery } from '../webview/gallery/messages';
import { CLI, ensureBuilt } from './helpers/cli';
import { waitFor } from './helpers/sidecar';
import { SHARED_DATA, tempDir } from './helpers/temp';

test('a paste or drop carries image files only when it is file URIs or nothing but absolute paths', () => {
  assert.deepEqual(pastedFilePaths('# comment\r\nfile:///ws/my%20photo.jpg\r\nhttps://example.com/x.png\n', undefined), ['/ws/my photo.jpg']);
  assert.deepEqual(pastedFilePaths(undefined, '/ws/a.png\n/ws/b c.jpg\n'), ['/ws/a.png', '/ws/b c.jpg']);
  assert.deepEqual(pastedFilePaths(undefined, 'file:///ws/%C3%A9t%C3%A9.png'), ['/ws/été.png']);
  assert.deepEqual(pastedFilePaths(undefined, 'C:\\ws\\a.png'), ['C:\\ws\\a.png']);
  assert.deepEqual(pastedFilePaths(undefined, 'see /ws/a.png'), [], 'prose stays an ordinary paste');
  assert.deepEqual(pastedFilePaths(undefined, '/ws/a.png\nnot a path'), []);
  assert.deepEqual(pastedFilePaths(undefined, ''), []);
});

test('links are relative to the document, URL-encoded, with escaped alt text', () => {
  assert.equal(relativeImagePath('/ws/docs/notes.md', '/ws/art/horse.svg'), '../art/horse.svg');
  assert.equal(relativeImagePath('/ws/README.md', '/ws/img/my photo (1).jpg'), 'img/my%20photo%20%281%29.jpg');
  assert.equal(relativeImagePath('/ws/a/b/c.md', '/ws/a/b/été.png'), 'été.png');
  assert.equal(imageLink('markdown', 'a [bracket]', 'x.png'), '![a \\[bracket\\]](x.png)');
  assert.equal(imageLink('html', 'Tom & "Jerry"', 'x.png'), '<img src="x.png" alt="Tom &amp; &quot;Jerry&quot;">');
  assert.equal(flavourFor('html'), 'html');
  assert.equal(flavourFor('mdx'), 'markdown');
});

test('alt text prefers the words in the image, then confident tags, then a readable file name', () => {
  assert.equal(altTextFor({ relPath: 'shots/Login-screen_02.png', ocrText: '  Sign in\nPassword  ' }), 'Sign in Password');
  assert.equal(altTextFor({ relPath: 'x/IMG_1.jpg', tags: [{ name: 'dog', score: 0.8 }, { name: 'grass', score: 0.3 }, { name: 'kite', score: 0.05 }] }), 'dog, grass');
  assert.equal(altTextFor({ relPath: 'art/red-flowers_02.jpg', tags: [{ name: 'bee', score: 0.1 }] }), 'red flowers 02');
  assert.equal(altTextFor({ relPath: 'art/horse.svg', tags: [{ name: 'yellow', score: 0.9, source: 'colour' }] }), 'horse', 'colours alone are not a description');
  assert.equal(humaniseFileName('a/b/horse.svg'), 'horse');
  const long = altTextFor({ relPath: 'x.png', ocrText: 'word '.repeat(60) });
  assert.ok(long.length <= 101 && long.endsWith('…'));
});

test('the image link under the cursor is found in Markdown and HTML, decoded', () => {
  const line = 'See ![a horse](../art/my%20horse.svg "title") and <img src="pics/b.png" alt="b">.';
  assert.deepEqual(imageLinkAt(line, 8)?.target, '../art/my horse.svg');
  assert.equal(imageLinkAt(line, 60)?.target, 'pics/b.png');
  assert.equal(imageLinkAt(line, 2), null);
  assert.equal(imageLinkAt('![x](<with space.png>)', 3)?.target, 'with space.png');
  assert.ok(isExternalTarget('https://example.com/a.png'));
  assert.ok(!isExternalTarget('../a.png'));
});

test('completion reads the query typed after an unfinished ![', () => {
  assert.deepEqual(completionQuery('Intro ![red flow'), { query: 'red flow', start: 6 });
  assert.deepEqual(completionQuery('!['), { query: '', start: 0 });
  assert.equal(completionQuery('![done](x.png) more'), null);
  assert.equal(completionQuery('plain text'), null);
});

test('settings become the sidecar command line and environment; bad values are clamped', () => {
  const values: Record<string, unknown> = { roots: ['assets', '/abs/pics', ''], exclude: ['**/*.psd'], 'analyzers.faces': false, threads: 999, thumbnailSize: 10, modelsFolder: '/models', idleShutdownMinutes: 5 };
  const s = readSettings(<T>(k: string) => values[k] as T | undefined);
  assert.deepEqual(s.roots, ['assets', '/abs/pics']);
  assert.equal(s.threads, 64);
  assert.equal(s.thumbnailSize, 64);
  assert.equal(s.analyzers.faces, false);
  assert.equal(s.analyzers.tags, true);
  assert.deepEqual(resolveRoots(s, ['/ws1', '/ws2']), ['/ws1/assets', '/ws2/assets', '/abs/pics']);
  assert.deepEqual(resolveRoots(DEFAULT_SETTINGS, ['/ws1', '/ws1']), ['/ws1']);
  const { args, env } = serveCommand(s, ['/ws1/assets'], 4242);
  assert.deepEqual(args.slice(0, 5), ['serve', '--root', '/ws1/assets', '--parent-pid', '4242']);
  assert.ok(args.includes('**/*.psd') && args.includes('**/node_modules'), 'user excludes are added to the defaults');
  assert.deepEqual(args.slice(-2), ['--idle-timeout', '5']);
  assert.equal(env.LOUPE_ANALYZERS, 'tags,ocr,clip');
  assert.equal(env.LOUPE_MODELS_DIR, '/models');
  assert.equal(env.LOUPE_INTRA_OP_THREADS, '64');
  assert.equal(env.LOUPE_THUMBNAIL_SIZE, '64');
});

test('a crashing sidecar is restarted with growing delays, reset after a stable run, and given up on', () => {
  const p = new RestartPolicy({ baseMs: 1000, maxMs: 8000, stableMs: 60_000, maxCrashes: 5, windowMs: 300_000 });
  p.started(0);
  assert.deepEqual([p.crashed(1000), p.crashed(2000), p.crashed(3000), p.crashed(4000)], [1000, 2000, 4000, 8000]);
  p.started(5000);
  assert.equal(p.crashed(70_000), 1000, 'a minute of running resets the back-off');
  assert.equal(p.crashed(71_000), null, 'six crashes in five minutes: stop trying');
});

test('the status bar text counts images, shows progress while indexing and flags unreadable files', () => {
  const root = (over: Partial<RootStatus>): RootStatus => ({ root: '/r', catalog: '/r/.loupe/catalog.duckdb', state: 'idle', images: 0, pending: 0, errors: 0, progress: null, lastRun: null, watching: true, ...over });
  assert.equal(summariseStatus([root({ images: 1200 }), root({ images: 34, errors: 2 })]).text, '$(file-media) 1,234 $(warning) 2');
  const busy = summariseStatus([root({ state: 'indexing', progress: { phase: 'index', done: 5, total: 40, failed: 0, current: null, rate: 2, etaSeconds: 17 } })]);
  assert.ok(busy.busy && busy.text.includes('5/40'));
  assert.equal(formatBytes(1536), '1.5 kB');
  assert.deepEqual(resultWarnings(['semantic search is off (model x not downloaded)', 'tag:xyzzy: no tag has that name']), ['tag:xyzzy: no tag has that name']);
  assert.equal(formatBytes(5 * 1024 ** 3), '5.4 GB');
  assert.equal(describeReasons({ root: '/r', id: 1, relPath: 'a.png', score: 0.5, reasons: [{ kind: 'filename', text: '"a" in file name' }], thumbnail: null, width: null, height: null, format: null, takenAt: null }), '50% · "a" in file name');
});

test('the gallery grid renders only the visible rows, and arrows move focus within bounds', () => {
  const g = { width: 300, cell: 96, gap: 4 };
  assert.equal(columnsFor(g), 3);
  assert.equal(totalHeight(50_000, g), Math.ceil(50_000 / 3) * 100 - 4);
  const r = visibleRange(50_000, 100_000, 800, g);
  assert.ok(r.end - r.start <= 3 * 13, `renders ${r.end - r.start} cells of 50,000`);
  assert.equal(r.start, (1000 - 2) * 3);
  assert.equal(moveFocus(0, 'ArrowDown', 10, g), 3);
  assert.equal(moveFocus(9, 'ArrowRight', 10, g), 9);
  assert.equal(moveFocus(1, 'ArrowUp', 10, g), 0);
  assert.equal(moveFocus(4, 'End', 10, g), 9);
  assert.equal(composeQuery('sunset', { folder: 'my trips', tag: '', person: 'Ana', hasText: true, date: '2024', large: '' }), 'sunset folder:"my trips" person:Ana has:text date:2024');
  assert.equal(composeQuery('', { folder: '', tag: '', person: '', hasText: false, date: '', large: 'pixels' }), 'pixels:>4mp');
});

test('parseHandshake accepts only the handshake line', () => {
  assert.deepEqual(parseHandshake('{"port":1,"token":"t","pid":2,"version":"0.1.0","protocol":1}'), { port: 1, token: 't', pid: 2, version: '0.1.0', protocol: 1 });
  assert.equal(parseHandshake('info: starting'), null);
  assert.equal(parseHandshake('{"port":"1"}'), null);
});

test('the extension starts the real sidecar, finds an image by path, trashes it and restores it', { timeout: 120_000 }, async () => {
  ensureBuilt();
  const root = tempDir();
  mkdirSync(join(root, 'pics'));
  const falcon = join(root, 'pics', 'prairie_falcon.jpg');
  copyFileSync(join(SHARED_DATA, 'text2image', 'nature', 'prairie_falcon.jpg'), falcon);
  copyFileSync(join(SHARED_DATA, 'text2image', 'nature', 'silver_fir.jpg'), join(root, 'pics', 'silver_fir.jpg'));
  const logs: string[] = [];
  const started = await startSidecar(
    { execPath: process.execPath, script: CLI, args: ['serve', '--root', root, '--parent-pid', String(process.pid)], env: { LOUPE_ANALYZERS: 'none' } },
    (line) => logs.push(line),
  );
  try {
    assert.ok(started.startMs > 0);
    const socket = await openAuthenticatedSocket(started.handshake);
    const rpc = createMessageConnection(new WebSocketMessageReader(socket), new WebSocketMessageWriter(socket));
    rpc.listen();
    const init = await rpc.sendRequest(InitializeRequest, { processId: process.pid, capabilities: {} });
    assert.deepEqual(init.roots, [root]);
    await waitFor('indexing', async () => {
      const { roots } = await rpc.sendRequest(IndexStatusRequest, {});
      return roots[0].state === 'idle' && roots[0].images === 2;
    }, 60_000);

    const asset = await rpc.sendRequest(AssetByPathRequest, { path: falcon });
    assert.equal(asset?.relPath, 'pics/prairie_falcon.jpg');
    assert.equal(await rpc.sendRequest(AssetByPathRequest, { path: join(root, 'pics', 'missing.jpg') }), null);
    assert.equal(await rpc.sendRequest(AssetByPathRequest, { path: '/etc/passwd' }), null, 'paths outside the roots are never looked up');

    const trashed = await rpc.sendRequest(FilesTrashRequest, { root, ids: [asset!.id] });
    assert.equal(trashed.state, 'applied');
    assert.ok(!existsSync(falcon), 'the file left the folder (to the OS trash)');
    assert.equal((await rpc.sendRequest(SearchRequest, { query: 'falcon' })).items.length, 0);
    const restored = await rpc.sendRequest(FilesRestoreRequest, { root, id: trashed.id });
    assert.equal(restored.state, 'undone');
    assert.ok(existsSync(falcon), 'undo brought the file back');
    await waitFor('re-indexed after restore', async () => (await rpc.sendRequest(SearchRequest, { query: 'falcon' })).items.length === 1, 60_000);
    rpc.dispose();
    socket.close();
  } finally {
    await stopSidecar(started.child, 10_000);
  }
  assert.equal(started.child.exitCode, 0, `clean shutdown; log:\n${logs.slice(-10).join('\n')}`);
  assert.ok(logs.length > 3 && !logs.join('\n').includes(started.handshake.token), 'the per-launch token never appears in the log');
});

test('a sidecar that cannot start is reported with its last log line', async () => {
  await assert.rejects(
    startSidecar({ execPath: process.execPath, script: CLI, args: ['serve', '--root', '/nonexistent/folder'], env: {} }, () => undefined, 20_000),
    /exited during start-up.*not a folder/,
  );
});
