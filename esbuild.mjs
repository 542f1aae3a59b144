// Bundles the three parts into dist/: the extension (loaded by VS Code), the sidecar (spawned by the
// extension and run by the `loupe` CLI) and the webview script. Native modules stay external.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// trash reads /proc parsers through dynamic requires that cannot be bundled.
const native = ['sharp', 'onnxruntime-node', '@duckdb/node-api', '@duckdb/node-bindings', 'usearch', 'trash'];

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

const builds = [
  { ...common, entryPoints: ['extension/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] },
  { ...common, entryPoints: ['sidecar/cli/main.ts'], outfile: 'dist/sidecar.js', platform: 'node', format: 'cjs', target: 'node20', external: native },
  { ...common, entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', format: 'iife', target: 'es2022' },
  { ...common, entryPoints: ['webview/gallery/main.ts'], outfile: 'dist/gallery.js', platform: 'browser', format: 'iife', target: 'es2022' },
  { ...common, entryPoints: ['webview/gallery/gallery.css'], outfile: 'dist/gallery.css' },
  { ...common, entryPoints: ['webview/panel/main.tsx'], outfile: 'dist/panel.js', platform: 'browser', format: 'iife', target: 'es2022', jsx: 'automatic', jsxImportSource: 'preact' },
  { ...common, entryPoints: ['webview/panel/panel.css'], outfile: 'dist/panel.css' },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
