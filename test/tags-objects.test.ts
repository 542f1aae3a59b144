import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeImage } from '../sidecar/decode/decode';
import { INPUT, Yolox, YOLOX_MODEL_ID, letterbox, nms, type Detection } from '../sidecar/analyzers/objects/yolox';
import { testResolver } from './helpers/mobilenet';
import { SHARED_DATA } from './helpers/temp';

const box = (x: number, y: number, w: number, h: number, score: number, classIndex = 0): Detection => ({ x, y, w, h, score, classIndex });

describe('YOLOX-Nano objects', () => {
  it('letterboxes to 416x416 keeping the aspect, top-left, padded with 114, BGR', async () => {
    // 200x100 pure red -> 416x208 of red on top, grey 114 below.
    const rgb = Buffer.alloc(200 * 100 * 3);
    for (let i = 0; i < rgb.length; i += 3) rgb[i] = 255;
    const { input, scale } = await letterbox(rgb, 200, 100);
    assert.equal(scale, INPUT / 200);
    const plane = INPUT * INPUT;
    const at = (c: number, x: number, y: number) => input[c * plane + y * INPUT + x];
    assert.deepEqual([at(0, 10, 10), at(1, 10, 10), at(2, 10, 10)], [0, 0, 255]); // B, G, R
    assert.deepEqual([at(0, 10, 300), at(1, 10, 300), at(2, 10, 300)], [114, 114, 114]);
  });

  it('class-agnostic NMS keeps the best of overlapping boxes, whatever their class', () => {
    const kept = nms([box(0, 0, 100, 100, 0.6, 1), box(5, 5, 100, 100, 0.9, 0), box(300, 300, 50, 50, 0.5, 0)]);
    assert.deepEqual(kept.map((d) => d.score), [0.9, 0.5]);
  });

  it('finds the person and the tie in a portrait, and the bird in the falcon photo, boxes inside the image', async () => {
    const model = new Yolox(await testResolver().resolveFile(YOLOX_MODEL_ID, undefined, { download: false }));
    try {
      const portrait = await decodeImage(join(SHARED_DATA, 'faces/lfw10/images/Colin_Powell/Colin_Powell_0001.jpg'), 'p.jpg');
      const dets = await model.detect(portrait.rgb, portrait.rgbWidth, portrait.rgbHeight);
      const person = dets.find((d) => d.classIndex === 0);
      const tie = dets.find((d) => d.classIndex === 27);
      assert.ok(person && person.score > 0.8, JSON.stringify(dets));
      assert.ok(tie && tie.y > portrait.rgbHeight / 2, 'the tie is in the lower half');
      for (const d of dets) assert.ok(d.x >= 0 && d.y >= 0 && d.x + d.w <= portrait.rgbWidth + 1e-6 && d.y + d.h <= portrait.rgbHeight + 1e-6);

      const falcon = await decodeImage(join(SHARED_DATA, 'text2image/nature/prairie_falcon.jpg'), 'f.jpg');
      const birds = (await model.detect(falcon.rgb, falcon.rgbWidth, falcon.rgbHeight)).filter((d) => d.classIndex === 14);
      assert.equal(birds.length, 1);
    } finally {
      await model.dispose();
    }
  });
});
