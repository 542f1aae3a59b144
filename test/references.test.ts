import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { documentKind, extractReferences } from '../sidecar/references/extract-links';

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
