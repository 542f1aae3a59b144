import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../catalog/catalog';
import { ModelResolver } from '../models/resolver';

interface Check {
  name: string;
  run: () => Promise<string>;
}

/** Checks that the native parts load, models resolve and a catalog opens; prints one line per check. */
export async function runDoctor(root: string | null, print: (line: string) => void): Promise<number> {
  const checks: Check[] = [
    { name: 'node', run: async () => `${process.version} ${process.platform}-${process.arch}` },
    {
      name: 'sharp',
      run: async () => {
        const sharp = (await import('sharp')).default;
        const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } }).png().toBuffer();
        const meta = await sharp(png).metadata();
        return `libvips ${sharp.versions.vips}, decoded a ${meta.width}x${meta.height} test image`;
      },
    },
    {
      name: 'onnxruntime-node',
      run: async () => {
        const ort = await import('onnxruntime-node');
        return `${ort.env.versions?.node ?? 'loaded'}`;
      },
    },
    {
      name: 'usearch',
      run: async () => {
        const usearch = await import('usearch');
        const index = new usearch.Index(3, usearch.MetricKind.Cos);
        index.add(1n, new Float32Array([1, 0, 0]));
        const found = index.search(new Float32Array([1, 0, 0]), 1, 0);
        return `index works (found key ${found.keys[0]})`;
      },
    },
    {
      name: 'duckdb catalog',
      run: async () => {
        const dir = root ?? mkdtempSync(join(tmpdir(), 'loupe-doctor-'));
        try {
          const catalog = await Catalog.open(dir, root ? {} : { stateDir: join(dir, '.loupe') });
          const version = await catalog.schemaVersion();
          const path = catalog.dbPath;
          catalog.close();
          return `opened ${path} (schema ${version})`;
        } finally {
          if (!root) rmSync(dir, { recursive: true, force: true });
        }
      },
    },
  ];
  const resolver = new ModelResolver();
  for (const model of resolver.manifest.models) {
    checks.push({
      name: `model ${model.id}`,
      run: async () => {
        const statuses = await resolver.verify(model.id);
        const bad = statuses.find((s) => !s.verified);
        if (bad) throw new Error(bad.problem ?? 'not verified');
        return statuses.map((s) => `${s.location}: ${s.absPath}`).join(', ');
      },
    });
  }
  let failures = 0;
  for (const check of checks) {
    try {
      print(`ok    ${check.name}: ${await check.run()}`);
    } catch (err) {
      const missingModel = check.name.startsWith('model ');
      if (!missingModel) failures++;
      print(`${missingModel ? 'note ' : 'FAIL '} ${check.name}: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
    }
  }
  print(failures ? `${failures} problem(s) found` : 'all checks passed');
  return failures ? 1 : 0;
}
