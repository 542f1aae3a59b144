import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { LoupeErrorCodes, METHODS } from '../sidecar/protocol';

it('docs/protocol.md documents every method and error code in sidecar/protocol.ts', () => {
  const doc = readFileSync(join(__dirname, '..', 'docs', 'protocol.md'), 'utf8');
  const all = [...METHODS.requests, ...METHODS.clientNotifications, ...METHODS.serverNotifications, ...METHODS.serverRequests];
  for (const method of all) assert.ok(doc.includes(`\`${method}\``), `${method} is documented`);
  for (const [name, code] of Object.entries(LoupeErrorCodes)) {
    assert.match(doc, new RegExp(`\\| ${code} \\| ${name} \\|`), `error ${name} (${code}) is documented`);
  }
});
