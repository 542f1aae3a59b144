/**
 * End to end in a real VS Code (code-server) driven through Chromium: the extension activates, starts
 * its sidecar, indexes the workspace; the palette search finds an image by name and inserts the exact
 * relative Markdown link; hovering that link shows the image; the gallery renders thumbnails.
 * Screenshots of each step go to test/e2e/screenshots/ (printed at the end).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { e2eAvailable, loupeLog, runCommand, screenshot, startVsCode } from './code-server';
import { buildWorkspace, PHOTOS } from './fixture';
import { SHARED } from '../helpers/temp';

const missing = e2eAvailable();
if (missing) throw new Error(`e2e prerequisites missing: ${missing}`);

test('Loupe in VS Code: index, search from the palette, insert a link, hover it, browse the gallery', { timeout: 300_000 }, async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'loupe-e2e-'));
  const ws = join(scratch, 'workspace');
  buildWorkspace(ws);
  const metricsFile = join(scratch, 'metrics.json');
  const shots: string[] = [];
  const images = 2 + PHOTOS.length;
  const session = await startVsCode({
    workspace: ws,
    scratch,
    settings: {
      'loupe.modelsFolder': join(SHARED, 'models'),
      // Alt text then comes from the file name, so the inserted link is known exactly.
      'loupe.analyzers.tags': false,
      'loupe.analyzers.faces': false,
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'editor.quickSuggestions': { other: false, comments: false, strings: false },
    },
    vsix: process.env.LOUPE_E2E_VSIX || undefined,
    env: { LOUPE_METRICS_FILE: metricsFile },
  });
  const { page } = session;
  try {
    // 1. The sidecar indexed every image: the status bar says so.
    const status = page.locator('[id="loupe.loupe.loupe.status"]');
    await status.waitFor({ timeout: 60_000 });
    await page.waitForFunction(
      (n) => document.getElementById('loupe.loupe.loupe.status')?.getAttribute('aria-label')?.includes(`Loupe: ${n} images indexed`),
      images,
      { timeout: 120_000 },
    );
    await screenshot(page, 'indexed-status-bar', shots);

    // Loupe's state folder (.loupe: catalog, thumbnails) stays out of the Explorer.
    await runCommand(page, 'View: Show Explorer');
    const explorerRows = page.locator('.explorer-folders-view .monaco-list-row');
    await explorerRows.filter({ hasText: 'photos' }).first().waitFor({ timeout: 20_000 });
    assert.ok(existsSync(join(ws, '.loupe')), 'the state folder exists on disk');
    const names = await explorerRows.evaluateAll((els) => els.map((e) => (e as HTMLElement).innerText.trim()));
    assert.ok(!names.includes('.loupe'), `the Explorer hides .loupe: ${names.join(', ')}`);

    // 2. Open the note and put the cursor at its end.
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('notes.md');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'notes.md' }).first().waitFor();
    await page.keyboard.press('Enter');
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.waitFor();
    await editor.click();
    await page.keyboard.press('Control+End');
    await screenshot(page, 'note-open', shots);

    // 3. Loupe: Search Images... finds the horse by name, first.
    await runCommand(page, 'Loupe: Search Images...');
    const input = page.locator('.quick-input-widget input');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'Search Images' }).waitFor();
    await input.pressSequentially('horse', { delay: 40 });
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    await rows.filter({ hasText: 'horse.svg' }).first().waitFor({ timeout: 20_000 });
    await page.waitForTimeout(400); // let the debounced query settle
    assert.match(await rows.first().innerText(), /horse\.svg/, 'the horse is the first result');
    await screenshot(page, 'search-results', shots);

    // 4. Pick it, choose "Insert Link": the exact relative link lands in the note.
    await page.keyboard.press('Enter');
    await rows.filter({ hasText: 'Insert Link' }).first().waitFor();
    await screenshot(page, 'image-actions', shots);
    await input.fill('Insert Link');
    await page.keyboard.press('Enter');
    await page.locator('.view-lines', { hasText: '![horse](../art/horse.svg)' }).first().waitFor({ timeout: 20_000 });
    await page.keyboard.press('Control+S');
    const notePath = join(ws, 'docs', 'notes.md');
    const deadline = Date.now() + 10_000;
    while (!readFileSync(notePath, 'utf8').includes('![horse]') && Date.now() < deadline) await page.waitForTimeout(200);
    assert.equal(readFileSync(notePath, 'utf8'), '# Notes\n\nThe stable logo:\n\n![horse](../art/horse.svg)');
    await screenshot(page, 'link-inserted', shots);

    // 5. Hovering the link shows the image's facts.
    await page.locator('.view-lines span', { hasText: 'horse.svg' }).first().hover();
    const hover = page.locator('.monaco-hover-content', { hasText: 'horse.svg' });
    await hover.first().waitFor({ timeout: 20_000 });
    assert.match(await hover.first().innerText(), /SVG/);
    await screenshot(page, 'link-hover', shots);

    // 6. The gallery sidebar renders a thumbnail for every image.
    await page.locator('.activitybar a.action-label[aria-label^="Loupe"]').first().click();
    const frame = page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
    const cells = frame.locator('.cell img');
    await cells.nth(images - 1).waitFor({ timeout: 30_000 });
    const loaded = await cells.evaluateAll((imgs) => imgs.filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0).length);
    assert.equal(loaded, images, 'every thumbnail decoded in the webview');
    await screenshot(page, 'gallery', shots);

    // 7. The gallery's search box narrows the grid.
    await frame.locator('#search').fill('falcon');
    await page.waitForFunction(() => true);
    await frame.locator('.cell').first().waitFor();
    await page.waitForTimeout(800);
    assert.equal(await frame.locator('.cell').count(), 1, 'one image matches "falcon"');
    assert.match((await frame.locator('.cell').first().getAttribute('aria-label')) ?? '', /prairie_falcon\.jpg/);
    await screenshot(page, 'gallery-search', shots);

    // 7b. The Loupe panel opens from the palette and shows the library; its tabs switch views.
    await runCommand(page, 'Loupe: Open Panel');
    const panelFrame = page.frameLocator('iframe.webview.ready').last().frameLocator('iframe#active-frame');
    await panelFrame.locator('.cell').nth(images - 1).waitFor({ timeout: 30_000 });
    await panelFrame.locator('input.query').fill('horse');
    await panelFrame.locator('.cell[aria-label*="horse.svg"]').waitFor();
    await panelFrame.locator('.cell').first().click();
    await panelFrame.locator('.detail h2', { hasText: 'horse.svg' }).waitFor();
    const preview = panelFrame.locator('.preview img');
    await preview.waitFor();
    assert.match((await preview.getAttribute('src')) ?? '', /horse\.svg/, 'the detail shows the image it names');
    await screenshot(page, 'panel-search', shots);
    await panelFrame.getByRole('tab', { name: 'Duplicates' }).click();
    await panelFrame.locator('.state, .dup-group').first().waitFor();
    await screenshot(page, 'panel-duplicates', shots);
    // Faces are off in this workspace: People says so; Text looks words up (none of these photos has any).
    await panelFrame.getByRole('tab', { name: 'People' }).click();
    await panelFrame.getByText(/No faces found yet/).waitFor();
    await screenshot(page, 'panel-people', shots);
    await panelFrame.getByRole('tab', { name: 'Text' }).click();
    await panelFrame.locator('input[aria-label="Search text in images"]').fill('invoice');
    await panelFrame.getByText(/No image contains “invoice”/).waitFor({ timeout: 20_000 });
    await screenshot(page, 'panel-text', shots);

    // 8. A sidecar that dies is restarted (with back-off) and serves again.
    const record = join(ws, '.loupe', 'server.json');
    const firstPid = (JSON.parse(readFileSync(record, 'utf8')) as { pid: number }).pid;
    process.kill(firstPid, 'SIGKILL');
    const restartDeadline = Date.now() + 60_000;
    let secondPid = firstPid;
    while (secondPid === firstPid && Date.now() < restartDeadline) {
      await page.waitForTimeout(250);
      try {
        secondPid = (JSON.parse(readFileSync(record, 'utf8')) as { pid: number }).pid;
      } catch {
        // being rewritten
      }
    }
    assert.notEqual(secondPid, firstPid, 'a new sidecar took over');
    await page.waitForFunction(
      (n) => document.getElementById('loupe.loupe.loupe.status')?.getAttribute('aria-label')?.includes(`Loupe: ${n} images indexed`),
      images,
      { timeout: 60_000 },
    );

    // 9. Changing a setting applies without a reload: excluding photos/ leaves the two drawings.
    await runCommand(page, 'Preferences: Open User Settings (JSON)');
    await page.locator('.tab.active', { hasText: 'settings.json' }).waitFor();
    await page.locator('.editor-instance .monaco-editor').first().click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(JSON.stringify({ ...session.settings, 'loupe.exclude': ['photos'] }));
    await page.keyboard.press('Control+S');
    await page.waitForFunction(
      () => document.getElementById('loupe.loupe.loupe.status')?.getAttribute('aria-label')?.includes('Loupe: 2 images indexed'),
      undefined,
      { timeout: 60_000 },
    );
    // The gallery follows: the falcon it was showing is gone.
    await frame.locator('#status', { hasText: 'No images match' }).waitFor({ timeout: 20_000 });
    assert.equal(await frame.locator('.cell').count(), 0);
    await screenshot(page, 'after-restart-and-exclude', shots);

    assert.ok(existsSync(metricsFile), 'the extension recorded its timings');
    const metrics = JSON.parse(readFileSync(metricsFile, 'utf8')) as Record<string, number>;
    console.log(`timings: ${JSON.stringify(metrics)}`);
    assert.ok(metrics.activationMs >= 0 && metrics.sidecarReadyMs > 0);
  } catch (err) {
    await screenshot(page, 'failure', shots).catch(() => undefined);
    console.log(loupeLog(join(scratch, 'user-data')));
    console.log(session.log().slice(-4000));
    throw err;
  } finally {
    await session.close();
    console.log(`screenshots:\n${shots.join('\n')}`);
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('Loupe reads nothing in an untrusted workspace until it is trusted', { timeout: 240_000 }, async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'loupe-e2e-trust-'));
  const ws = join(scratch, 'workspace');
  buildWorkspace(ws);
  const shots: string[] = [];
  const session = await startVsCode({
    workspace: ws,
    scratch,
    askTrust: true,
    settings: { 'loupe.modelsFolder': join(SHARED, 'models'), 'loupe.analyzers.faces': false, 'workbench.startupEditor': 'none' },
    vsix: process.env.LOUPE_E2E_VSIX || undefined,
  });
  const { page } = session;
  try {
    // VS Code asks; the user says no: restricted mode.
    await page.getByRole('button', { name: /No, I don.t trust the authors/ }).click({ timeout: 60_000 });
    await page.waitForFunction(() => /Loupe off/.test(document.getElementById('loupe.loupe.loupe.status')?.textContent ?? ''), undefined, { timeout: 60_000 });
    await page.waitForTimeout(2000);
    assert.ok(!existsSync(join(ws, '.loupe')), 'no catalog was created: no image was read');
    await screenshot(page, 'untrusted', shots);

    // Trusting the folder starts Loupe without a reload.
    await runCommand(page, 'Workspaces: Manage Workspace Trust');
    await page.getByRole('button', { name: /^Trust( Folder)?$/ }).first().click({ timeout: 30_000 });
    await page.waitForFunction(
      (n) => document.getElementById('loupe.loupe.loupe.status')?.getAttribute('aria-label')?.includes(`Loupe: ${n} images indexed`),
      2 + PHOTOS.length,
      { timeout: 120_000 },
    );
    assert.ok(existsSync(join(ws, '.loupe', 'catalog.duckdb')));
    await screenshot(page, 'trusted-indexed', shots);
  } catch (err) {
    await screenshot(page, 'trust-failure', shots).catch(() => undefined);
    console.log(loupeLog(join(scratch, 'user-data')));
    throw err;
  } finally {
    await session.close();
    console.log(`screenshots:\n${shots.join('\n')}`);
    rmSync(scratch, { recursive: true, force: true });
  }
});
