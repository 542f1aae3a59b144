/**
 * Component tests of the Loupe panel in headless Chromium against a real sidecar serving a fixture
 * folder built from ../shared/data: search and the detail pane, people (name a group, work the
 * suggestion queue), duplicates (resolve a group: the file really goes to the trash, and undo brings
 * it back), each view screenshotted in the light and the dark theme.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectToSidecar, type SidecarConnection } from '../../sidecar/client/connect';
import type { PeopleListResult } from '../../sidecar/protocol';
import { startSidecar, waitFor, type RunningSidecar } from '../helpers/sidecar';
import { SHARED, SHARED_DATA, tempDir } from '../helpers/temp';
import { e2eAvailable, screenshot } from './code-server';
import { openPanel, type PanelHarness } from './panel-harness';

const missing = e2eAvailable();
if (missing) throw new Error(`e2e prerequisites missing: ${missing}`);

describe('Loupe panel against a real sidecar', { timeout: 600_000 }, () => {
  let root: string;
  let sidecar: RunningSidecar;
  let conn: SidecarConnection;
  let panel: PanelHarness;
  const shots: string[] = [];

  before(async () => {
    root = tempDir('loupe-panel-');
    for (const d of ['photos', 'people', 'dups', 'docs']) mkdirSync(join(root, d));
    for (const f of ['prairie_falcon.jpg', 'wood_anemones.jpg', 'silver_fir.jpg']) copyFileSync(join(SHARED_DATA, 'text2image', 'nature', f), join(root, 'photos', f));
    for (const person of ['Tony_Blair', 'Colin_Powell']) {
      const dir = join(SHARED_DATA, 'faces', 'lfw10', 'images', person);
      for (const f of readdirSync(dir).sort().slice(0, 6)) copyFileSync(join(dir, f), join(root, 'people', f));
    }
    const ukb = join(SHARED_DATA, 'near-duplicates', 'imagededup', 'mixed_images');
    copyFileSync(join(ukb, 'ukbench00120.jpg'), join(root, 'dups', 'bridge.jpg'));
    copyFileSync(join(ukb, 'ukbench00120.jpg'), join(root, 'dups', 'bridge copy.jpg'));
    copyFileSync(join(ukb, 'ukbench00120_resize.jpg'), join(root, 'dups', 'bridge-small.jpg'));
    copyFileSync(join(SHARED_DATA, 'ocr', 'tesseractjs', 'images', 'testocr.png'), join(root, 'docs', 'scan.png'));
    // A hostile file name: must show as text, never run.
    copyFileSync(join(SHARED_DATA, 'text2image', 'nature', 'silver_fir.jpg'), join(root, 'photos', '<img src=x onerror=alert(1)>.jpg'));
    writeFileSync(join(root, 'docs', 'trip.md'), '# Trip\n\n![the bridge](../dups/bridge%20copy.jpg)\n');

    sidecar = await startSidecar([root], [], { LOUPE_MODELS_DIR: join(SHARED, 'models') });
    conn = await connectToSidecar(sidecar.handshake);
    await conn.connection.sendRequest('initialize', { capabilities: {} });
    await waitFor('indexing and face grouping', async () => {
      const s = (await conn.connection.sendRequest('index/status', {})) as { roots: Array<{ state: string; images: number; pending: number }> };
      if (s.roots[0].state !== 'idle' || s.roots[0].images < 15) return false;
      const p = (await conn.connection.sendRequest('people/list', { includeClusters: true })) as PeopleListResult;
      return p.people.length >= 2;
    }, 240_000);
    panel = await openPanel(conn.connection, [root, join(root, '.loupe')]);
  });

  after(async () => {
    await panel?.close();
    conn?.close();
    await sidecar?.stop();
    console.log(`screenshots:\n${shots.join('\n')}`);
  });

  const both = async (name: string) => {
    await panel.setTheme('light');
    await screenshot(panel.page, `panel-${name}-light`, shots);
    await panel.setTheme('dark');
    await screenshot(panel.page, `panel-${name}-dark`, shots);
    await panel.setTheme('light');
  };

  it('searches, shows why each image matched, and opens the detail pane with the full image', async () => {
    const { page } = panel;
    await page.locator('.cell').first().waitFor();
    assert.ok((await page.locator('.cell').count()) >= 10, 'an empty query lists the library');
    await page.locator('input.query').fill('falcon');
    await page.waitForFunction(() => document.querySelectorAll('.cell').length === 1 && /prairie_falcon/.test(document.querySelector('.cell')?.getAttribute('aria-label') ?? ''));
    assert.match((await page.locator('.cell').first().getAttribute('aria-label')) ?? '', /"falcon" in file name/);
    await page.locator('.cell').first().click();
    await page.locator('.detail h2', { hasText: 'prairie_falcon.jpg' }).waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector('.preview img') as HTMLImageElement | null;
      return !!img && img.complete && img.naturalWidth > 0;
    });
    // Tags: the likely ones as chips, the classifier's long tail only as a muted line.
    const chips = await page.locator('.detail section', { hasText: 'Tags' }).locator('.chip').evaluateAll((els) => els.map((e) => [e.textContent, e.getAttribute('title')]));
    assert.ok(chips.some(([t]) => t === 'bird') && chips.some(([t]) => t === 'animal'), JSON.stringify(chips));
    assert.ok(chips.every(([, title]) => Number.parseInt(title ?? '0', 10) >= 15), JSON.stringify(chips));
    assert.match(await page.locator('.detail .less-likely').innerText(), /^Less likely: .+ \d+%/);
    await both('search-detail');
    // Keyboard: Enter on a focused cell opens it; the grid is a labelled grid.
    await page.locator('input.query').fill('');
    await page.locator('.cell').nth(3).waitFor();
    await page.locator('.cell').first().focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.locator('.detail h2').waitFor();
    assert.equal(await page.locator('[role="grid"][aria-label="Search results"]').count(), 1);
  });

  it('shows a file named like HTML as text: nothing in it runs', async () => {
    const { page } = panel;
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.getByRole('tab', { name: 'Search' }).click();
    await page.locator('input.query').fill('onerror');
    await page.waitForFunction(() => document.querySelectorAll('.cell').length === 1);
    await page.locator('.cell').first().click();
    await page.locator('.detail h2', { hasText: '<img src=x onerror=alert(1)>.jpg' }).waitFor();
    await page.waitForTimeout(500);
    assert.deepEqual(dialogs, []);
    assert.equal(await page.locator('img[src="x"]').count(), 0, 'no element was made from the name');
  });

  it('finds an image by the words in it and draws the matching lines on it', async () => {
    const { page } = panel;
    await page.getByRole('tab', { name: 'Text' }).click();
    await page.locator('input[aria-label="Search text in images"]').fill('quick brwn dog');
    const hit = page.locator('.text-hit', { hasText: 'docs/scan.png' });
    await hit.waitFor({ timeout: 30_000 });
    assert.match(await hit.innerText(), /quick brown dog/i, 'the matching line is shown');
    assert.ok((await hit.locator('mark').count()) >= 1, 'the query words are highlighted');
    await hit.click();
    await page.locator('.detail h2', { hasText: 'scan.png' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.overlay .ocr-box.match').length >= 1);
    assert.ok((await page.locator('.overlay .ocr-box').count()) >= 5, 'every recognised line has its box');
    assert.match(await page.locator('.ocr-lines').innerText(), /This is a lot of 12 point text/);
    await both('text-detail');
  });

  it('names a group of faces, and the suggestion queue shrinks as it is worked through', async () => {
    const { page } = panel;
    const list = (await conn.connection.sendRequest('people/list', { includeClusters: true })) as PeopleListResult;
    // Name one face of one group from outside (as `loupe people name` would): its other faces become suggestions.
    const cluster = list.people.find((p) => p.kind === 'cluster' && p.cover?.relPath.includes('Colin_Powell'))!;
    assert.ok(cluster, 'Colin Powell\'s photos form a group');
    await conn.connection.sendRequest('people/name', { root, faceId: cluster.cover!.id, name: 'Colin' });

    await page.getByRole('tab', { name: 'People' }).click();
    const review = page.locator('button', { hasText: /^Review suggestions \(\d+\)/ });
    await review.waitFor();
    const before = Number(/\((\d+)\)/.exec(await review.innerText())?.[1] ?? 0);
    assert.ok(before >= 3, `${before} suggestions after naming one face`);
    await page.locator('.person-tile', { hasText: 'Colin' }).waitFor();
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.person-tile img.face')).every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0));
    await both('people');

    await review.click();
    await page.locator('.review-card img.face').waitFor();
    await page.waitForFunction(() => (document.querySelector('.review-card img.face') as HTMLImageElement | null)?.complete === true);
    await both('people-review');
    await page.keyboard.press('a');
    await page.locator('.hint', { hasText: `2 of ${before}` }).waitFor();
    await page.keyboard.press('r');
    await page.locator('.hint', { hasText: `3 of ${before}` }).waitFor();
    await page.keyboard.press('Escape');
    await page.waitForFunction((n) => new RegExp(`Review suggestions \\(${n}\\)`).test(document.body.innerText), before - 2);

    // Name the other group in the UI.
    const unnamed = page.locator('ul[aria-label="Unnamed groups of faces"] .person-tile').first();
    await unnamed.click();
    await page.locator('input[aria-label="Person\'s name"]').fill('Tony');
    await page.locator('button', { hasText: 'Save name' }).click();
    await page.locator('.summary').waitFor();
    await page.locator('button', { hasText: '← People' }).click();
    await page.locator('ul[aria-label="Named people"] .person-tile', { hasText: 'Tony' }).waitFor();
    const tony = (await conn.connection.sendRequest('people/list', {})) as PeopleListResult;
    const named = tony.people.find((p) => p.name === 'Tony')!;
    const details = (await conn.connection.sendRequest('people/get', { root, personId: named.id })) as { faces: Array<{ relPath: string }> };
    assert.ok(details.faces.every((f) => f.relPath.includes('Tony_Blair')), 'every face named Tony is Tony Blair');
  });

  it('resolves a duplicate group (the copy really goes to the trash, links are updated) and undoes it', async () => {
    const { page } = panel;
    await page.getByRole('tab', { name: 'Duplicates' }).click();
    const exact = page.locator('section[aria-label="Exact copies"] .dup-group').first();
    await exact.waitFor({ timeout: 30_000 });
    assert.match(await page.locator('.reclaim').innerText(), /reclaimable/);
    assert.match(await exact.innerText(), /used by docs\/trip\.md/);
    await both('duplicates');
    const copy = join(root, 'dups', 'bridge copy.jpg');
    const original = join(root, 'dups', 'bridge.jpg');
    await exact.locator('button', { hasText: /^Keep 1, move 1 to trash/ }).click();
    await page.locator('.status', { hasText: 'Moved 1 file to the trash' }).waitFor({ timeout: 30_000 });
    assert.equal(existsSync(copy) && existsSync(original), false, 'one of the two copies left the folder');
    await page.locator('button', { hasText: 'Undo last' }).click();
    await page.locator('.status', { hasText: 'Restored 1 file' }).waitFor({ timeout: 30_000 });
    assert.ok(existsSync(copy) && existsSync(original), 'undo brought it back');
  });
});
