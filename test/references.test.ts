import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Catalog } from '../sidecar/catalog/catalog';
import { indexRoot } from '../sidecar/pipeline/indexer';
import { documentKind, extractReferences } from '../sidecar/references/extract-links';
import { referencesTo, resolveTarget } from '../sidecar/references/reference-index';
import { makeImage, writeFile } from './fixtures/images';
import { tempDir } from './helpers/temp';

function targets(text: string, kind: Parameters<typeof extractReferences>[1]) {
  const refs = extractReferences(text, kind);
  for (const r of refs) assert.equal(text.slice(r.start, r.end), r.raw, 'offsets point at the raw target');
  return refs.map((r) => [r.syntax, r.path]);
}

describe('reference extraction', () => {
  it('finds Markdown images, links, definitions and inline HTML, skipping code and remote URLs', () => {
    const md = [
      '# Trip',
      '![Sunset over the sea](images/sunset.jpg "at dusk")',
      'See [the map](../maps/route%20map.png) and [site](https://example.com/x.png).',
      '![angle](<photos/with space.webp>)',
      '![paren](img/a(1).png)',
      '[logo]: ./brand/logo.svg',
      '<img src="shots/login.png" alt="x"> <img srcset="a.png 1x, b@2x.png 2x">',
      '`![not a link](code.png)`',
      '```md',
      '![also not](fenced.png)',
      '```',
      '![data](data:image/png;base64,AAAA) [anchor](#top)',
    ].join('\n');
    assert.deepEqual(targets(md, 'markdown'), [
      ['md-image', 'images/sunset.jpg'],
      ['md-link', '../maps/route map.png'],
      ['md-image', 'photos/with space.webp'],
      ['md-image', 'img/a(1).png'],
      ['md-definition', './brand/logo.svg'],
      ['html-attr', 'shots/login.png'],
      ['html-attr', 'a.png'],
      ['html-attr', 'b@2x.png'],
    ]);
  });

  it('finds HTML attributes and CSS url() in HTML and CSS', () => {
    const html = `<picture><source srcset='hero.avif'><img src=hero.jpg></picture><div style="background: url('bg/tile.png')"></div><a href="/docs/x.html">x</a>`;
    assert.deepEqual(targets(html, 'html'), [
      ['html-attr', 'hero.avif'],
      ['html-attr', 'hero.jpg'],
      ['css-url', 'bg/tile.png'],
      ['html-attr', '/docs/x.html'],
    ]);
    const css = `.a { background: url(img/a.png) } .b { background-image: url( "../b.webp?v=2" ) } .c { mask: url(#m) }`;
    assert.deepEqual(targets(css, 'css'), [
      ['css-url', 'img/a.png'],
      ['css-url', '../b.webp'],
    ]);
  });

  it('finds path-like strings in JSON', () => {
    const json = `{"icon": "./assets/icon.png", "name": "app.png", "screens": ["shots/one.jpg"], "url": "https://x.y/z.png"}`;
    assert.deepEqual(targets(json, 'json'), [
      ['json-string', './assets/icon.png'],
      ['json-string', 'shots/one.jpg'],
    ]);
  });

  it('knows which files are documents', () => {
    assert.equal(documentKind('README.md'), 'markdown');
    assert.equal(documentKind('page.MDX'), 'markdown');
    assert.equal(documentKind('index.html'), 'html');
    assert.equal(documentKind('site.scss'), 'css');
    assert.equal(documentKind('photo.jpg'), null);
  });
});

describe('reference index', () => {
  it('records which documents use which image, across folders, and follows edits and deletions', async () => {
    const root = tempDir();
    writeFile(join(root, 'assets/hero.png'), await makeImage('png', 20, 20, 1));
    writeFile(join(root, 'README.md'), '![Hero](assets/hero.png)\n[docs](docs/guide.md)\n');
    writeFile(join(root, 'docs/guide.md'), 'Intro ![hero](../assets/hero.png) and ![abs](/assets/hero.png)\n');
    writeFile(join(root, 'site/style.css'), '.h { background: url("../assets/hero.png") }');
    writeFile(join(root, 'site/escape.md'), '![x](../../outside.png)');
    const catalog = await Catalog.open(root);
    try {
      await indexRoot(catalog);
      const refs = await referencesTo(catalog, ['assets/hero.png']);
      assert.deepEqual(
        refs.map((r) => [r.document, r.raw]),
        [
          ['README.md', 'assets/hero.png'],
          ['docs/guide.md', '../assets/hero.png'],
          ['docs/guide.md', '/assets/hero.png'],
          ['site/style.css', '../assets/hero.png'],
        ],
      );
      assert.equal(resolveTarget('site/escape.md', '../../outside.png'), null, 'links that leave the root are ignored');
      writeFile(join(root, 'README.md'), 'no images any more\n');
      rmSync(join(root, 'site/style.css'));
      await indexRoot(catalog);
      assert.deepEqual((await referencesTo(catalog, ['assets/hero.png'])).map((r) => r.document), ['docs/guide.md', 'docs/guide.md']);
    } finally {
      catalog.close();
    }
  });
});
