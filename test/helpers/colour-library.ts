import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import sharp from 'sharp';
import { writeFile } from '../fixtures/images';
import { tempDir } from './temp';

/** A colour with a little texture, so no two images are byte copies (and PDQ does not call them flat). */
async function colourImage(rgb: [number, number, number], w: number, h: number, seed: number): Promise<Buffer> {
  const [r, g, b] = rgb;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
    <rect width="100%" height="100%" fill="rgb(${r},${g},${b})"/>
    <circle cx="${(seed * 17) % w}" cy="${(seed * 11) % h}" r="${Math.max(2, w >> 4)}" fill="rgb(${Math.max(0, r - 40)},${Math.max(0, g - 40)},${Math.max(0, b - 40)})"/>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/**
 * Images whose names say nothing about their colour (except one decoy), for semantic search tests:
 * two red, two green, two blue, one yellow, one grey, and `notes/red-team.png`, which is blue.
 */
export const COLOUR_FILES: Record<string, [number, number, number]> = {
  'trip/img-001.png': [220, 30, 25],
  'trip/img-002.png': [190, 20, 40],
  'trip/img-003.png': [30, 200, 40],
  'trip/img-004.png': [20, 170, 60],
  'home/img-005.png': [25, 40, 210],
  'home/img-006.png': [40, 60, 190],
  'home/img-007.png': [230, 220, 30],
  'home/img-008.png': [128, 128, 128],
  'notes/red-team.png': [30, 30, 200],
};

export const RED_FILES = ['trip/img-001.png', 'trip/img-002.png'];

export async function makeColourLibrary(): Promise<string> {
  const root = tempDir('loupe-colours-');
  let seed = 1;
  for (const [rel, rgb] of Object.entries(COLOUR_FILES)) writeFile(join(root, rel), await colourImage(rgb, 96 + seed * 8, 64 + seed * 4, seed++));
  return root;
}

/** Serves files of a folder over HTTP on 127.0.0.1 (what a model download reads); `/stall/...` sends a little and hangs. */
export async function serveFolder(dir: string): Promise<{ server: Server; baseUrl: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    requests.push(url);
    const stall = url.startsWith('/stall/');
    const path = normalize(join(dir, stall ? url.slice('/stall'.length) : url));
    if (!path.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': String(size) });
    if (stall) {
      res.write(Buffer.alloc(Math.min(size - 1, 1024)));
      return; // never ends: the client has to give up (cancel)
    }
    createReadStream(path).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    baseUrl,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
