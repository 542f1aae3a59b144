/**
 * `npm run stress`: crash safety. A sidecar serving a real folder is killed with SIGKILL at random
 * moments while it indexes, resolves duplicates (and undoes them), and names faces, 50 times (LOUPE_STRESS_KILLS). After
 * every kill a new sidecar must open the catalog, finish what was left without redoing finished work,
 * leave no duplicate resolution half-applied, and answer `similar` (vector indexes rebuilt when stale
 * or corrupt: the saved index files are also damaged on purpose every tenth round). Prints JSON.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { connectToSidecar } from '../../sidecar/client/connect';
import type { DuplicatesListResult, PeopleListResult, IndexStatusResult, SearchResponse } from '../../sidecar/protocol';
import { startSidecar, waitFor } from '../helpers/sidecar';
import { SHARED, SHARED_DATA } from '../helpers/temp';

const KILLS = Number(process.env.LOUPE_STRESS_KILLS ?? 50);

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

async function readCatalog(root: string): Promise<{ resolutions: Array<{ state: string; journal: string }>; processedTotal: number; assets: number }> {
  const db = await DuckDBInstance.create(join(root, '.loupe', 'catalog.duckdb'), { access_mode: 'READ_ONLY' });
  const c = await db.connect();
  const res = (await c.runAndReadAll('SELECT id, state, journal, error_message FROM resolutions ORDER BY id')).getRowObjects() as Array<{ state: string; journal: string }>;
  const assets = Number((await c.runAndReadAll("SELECT count(*) AS n FROM assets WHERE status = 'ok'")).getRowObjects()[0].n);
  c.closeSync();
  db.closeSync();
  return { resolutions: res, processedTotal: 0, assets };
}

async function main(): Promise<void> {
  const rand = prng(42);
  // Kept after a failure to look at (a passing run's folder is removed).
  const root = mkdtempSync(join(tmpdir(), 'loupe-stress-'));
  const nature = join(SHARED_DATA, 'text2image', 'nature');
  for (const f of readdirSync(nature)) copyFileSync(join(nature, f), join(root, f));
  for (const person of ['Tony_Blair', 'Colin_Powell', 'Hugo_Chavez']) {
    const dir = join(SHARED_DATA, 'faces', 'lfw10', 'images', person);
    for (const f of readdirSync(dir).slice(0, 8)) copyFileSync(join(dir, f), join(root, f));
  }
  const ukb = join(SHARED_DATA, 'near-duplicates', 'imagededup', 'mixed_images');
  mkdirSync(join(root, 'docs'));
  for (let i = 0; i < 12; i++) {
    copyFileSync(join(ukb, 'ukbench00120.jpg'), join(root, `copy-${i}a.jpg`));
    copyFileSync(join(ukb, 'ukbench00120.jpg'), join(root, `copy-${i}b.jpg`));
    writeFileSync(join(root, 'docs', `page-${i}.md`), `![b](../copy-${i}b.jpg)\n`);
  }
  const files = readdirSync(root).filter((f) => f.endsWith('.jpg')).length;
  const env = { LOUPE_MODELS_DIR: join(SHARED, 'models') };
  const rounds: Array<{ round: number; action: string; killAfterMs: number; restartReadyMs: number }> = [];
  let processedAfterKills = 0;
  let okAtLastKill = 0;

  for (let round = 0; round < KILLS; round++) {
    if (round % 10 === 9) {
      // Damage the saved vector indexes: the next start must notice and rebuild.
      for (const f of readdirSync(join(root, '.loupe'))) if (/\.usearch$|index.*\.bin$/.test(f)) writeFileSync(join(root, '.loupe', f), 'garbage');
    }
    const t0 = performance.now();
    const sc = await startSidecar([root], ['--no-watch'], env);
    const conn = await connectToSidecar(sc.handshake);
    await conn.connection.sendRequest('initialize', { capabilities: {} });
    const restartReadyMs = Math.round(performance.now() - t0);
    const status = (await conn.connection.sendRequest('index/status', {})) as IndexStatusResult;
    const pendingBefore = status.roots[0].pending;
    const action = (process.env.LOUPE_STRESS_ACTIONS ?? 'index,resolve,name,index').split(',')[Math.floor(rand() * (process.env.LOUPE_STRESS_ACTIONS ?? 'index,resolve,name,index').split(',').length)];
    let did = '';
    if (action === 'resolve') {
      // A resolution waits for the start-up index run; let that finish so the kill lands inside the resolution.
      await waitFor('the start-up index run', async () => {
        const s = (await conn.connection.sendRequest('index/status', {})) as IndexStatusResult;
        return s.roots[0].state === 'idle';
      }, 120_000);
      const dups = (await conn.connection.sendRequest('duplicates/list', {})) as DuplicatesListResult;
      const g = dups.groups.find((x) => x.category === 'exact');
      if (g) {
        did = ` (resolving a group of ${g.members.length})`;
        void conn.connection.sendRequest('duplicates/resolve', { root, groupKey: g.key, keep: [g.keeperId] }).catch(() => undefined);
      } else {
        // Nothing left to resolve: undo the last resolution (also killed half-way at times).
        const history = (await conn.connection.sendRequest('duplicates/history', {})) as { resolutions: Array<{ id: number; state: string }> };
        const last = history.resolutions.find((r) => r.state === 'applied');
        did = last ? ` (undoing resolution ${last.id})` : ` (nothing to resolve or undo: ${dups.groups.length} groups, history ${history.resolutions.map((r) => r.state).join(',') || 'empty'})`;
        if (last) void conn.connection.sendRequest('duplicates/undo', { root, id: last.id }).catch(() => undefined);
      }
    } else if (action === 'name') {
      const people = (await conn.connection.sendRequest('people/list', { includeClusters: true }).catch(() => ({ people: [] }))) as PeopleListResult;
      const p = people.people.find((x) => x.kind === 'cluster');
      if (p) void conn.connection.sendRequest('people/name', { root, personId: p.id, name: `P${round}` }).catch(() => undefined);
    }
    // A resolution or undo takes a few hundred ms: kill inside that window; other work runs longer.
    const killAfterMs = Math.round(action === 'resolve' ? 100 + rand() * 2500 : 100 + rand() * 4000);
    await new Promise((r) => setTimeout(r, killAfterMs));
    sc.child.kill('SIGKILL');
    await sc.exited;
    conn.close();
    okAtLastKill = (await readCatalog(root)).assets;
    rounds.push({ round, action, killAfterMs, restartReadyMs });
    void pendingBefore;
    process.stderr.write(`round ${round}: ${action}${did}, killed after ${killAfterMs} ms\n`);
  }

  // The last start: everything must settle and be consistent.
  const sc = await startSidecar([root], ['--no-watch'], env);
  const conn = await connectToSidecar(sc.handshake);
  await conn.connection.sendRequest('initialize', { capabilities: {} });
  await waitFor('the final run', async () => {
    const s = (await conn.connection.sendRequest('index/status', {})) as IndexStatusResult;
    return s.roots[0].state === 'idle' && s.roots[0].pending === 0;
  }, 300_000);
  const last = sc.log.map((l) => /index run \d+ done: (\d+) processed/.exec(l)).filter(Boolean).map((m) => Number(m![1]));
  processedAfterKills = last.reduce((a, b) => a + b, 0);
  const search = (await conn.connection.sendRequest('search', { query: 'copy' })) as SearchResponse;
  const anyCopy = search.items[0];
  const similar = anyCopy ? ((await conn.connection.sendRequest('similar', { root, id: anyCopy.id, limit: 5 })) as SearchResponse) : null;
  conn.close();
  await sc.stop();

  const cat = await readCatalog(root);
  const onDisk = readdirSync(root).filter((f) => f.endsWith('.jpg')).length;
  // Every resolution is either fully applied (its trashed files gone) or fully rolled back.
  const states: Record<string, number> = {};
  // The same files are resolved and restored many times: each must match the last resolution that touched it.
  const lastTouch = new Map<string, { state: string; why: string }>();
  for (const r of cat.resolutions) {
    states[r.state] = (states[r.state] ?? 0) + 1;
    assert.ok(r.state !== 'applying' && r.state !== 'undoing', `no resolution is left half-applied or half-undone: ${r.state}`);
    const j = JSON.parse(r.journal) as { trash: Array<{ relPath: string }>; keep: string[] };
    const why = `resolution ${JSON.stringify({ ...r, id: Number((r as { id?: unknown }).id) })} in ${root}`;
    for (const k of j.keep) assert.ok(existsSync(join(root, k)), `kept ${k} exists; ${why}`);
    for (const t of j.trash) lastTouch.set(t.relPath, { state: r.state, why });
  }
  for (const [relPath, { state, why }] of lastTouch) assert.equal(existsSync(join(root, relPath)), state !== 'applied', `${relPath} matches resolution state ${state}; ${why}`);
  assert.equal(cat.assets, onDisk, 'every image on disk is indexed once');
  assert.ok(processedAfterKills <= onDisk - Math.min(okAtLastKill, onDisk) + 2, `finished work is not redone: ${processedAfterKills} processed after the last kill, ${okAtLastKill} were done`);
  assert.ok(similar && similar.items.length > 0, 'similar works after the vector indexes were damaged');
  const out = {
    kills: KILLS,
    files,
    filesAtEnd: onDisk,
    resolutions: states,
    indexedAtLastKill: okAtLastKill,
    processedInFinalStart: processedAfterKills,
    restartReadyMs: { median: rounds.map((r) => r.restartReadyMs).sort((a, b) => a - b)[Math.floor(rounds.length / 2)], max: Math.max(...rounds.map((r) => r.restartReadyMs)) },
    actions: rounds.reduce<Record<string, number>>((m, r) => ((m[r.action] = (m[r.action] ?? 0) + 1), m), {}),
  };
  console.log(JSON.stringify(out, null, 2));
  rmSync(root, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exitCode = 1;
});
