/**
 * Models run in worker threads: while one infers, the sidecar's main thread keeps answering (a search
 * typed during indexing is not held up behind an inference). Real YOLOX-Nano from ../shared/models.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { createModelSession } from '../sidecar/inference/model-session';
import { INPUT, YOLOX_MODEL_ID } from '../sidecar/analyzers/objects/yolox';
import { testResolver } from './helpers/mobilenet';

describe('model sessions in worker threads', () => {
  it('infer without blocking the main thread, and give the same result as onnxruntime in-process', async () => {
    const path = await testResolver().resolveFile(YOLOX_MODEL_ID, undefined, { download: false });
    const input = new Float32Array(3 * INPUT * INPUT).map((_, i) => (i * 7919) % 255);
    const feeds = { images: new ort.Tensor('float32', input, [1, 3, INPUT, INPUT]) };
    const session = await createModelSession(path, { intraOpNumThreads: 1 });
    try {
      assert.deepEqual(session.inputNames, ['images']);
      assert.deepEqual(session.inputMetadata[0].shape, [1, 3, INPUT, INPUT]);
      // Count main-thread turns while three inferences run: an inference on this thread would allow none.
      let turns = 0;
      let running = true;
      const spin = () => {
        if (!running) return;
        turns++;
        setTimeout(spin, 1);
      };
      spin();
      const started = performance.now();
      let out: Record<string, ort.Tensor> = {};
      for (let i = 0; i < 3; i++) out = await session.run(feeds);
      const ms = performance.now() - started;
      running = false;
      assert.ok(turns >= 5, `the main thread ran ${turns} times during ${Math.round(ms)} ms of inference`);

      const inProcess = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
      const reference = (await inProcess.run(feeds)).output;
      await inProcess.release();
      assert.deepEqual(out.output.dims, reference.dims);
      assert.deepEqual(Array.from(out.output.data as Float32Array).slice(0, 850), Array.from(reference.data as Float32Array).slice(0, 850));
    } finally {
      await session.release();
    }
  });

  it('reports a model that does not load, and a run with bad inputs, as errors', async () => {
    await assert.rejects(createModelSession(Buffer.from('not a model'), {}), /protobuf|parse|model/i);
    const path = await testResolver().resolveFile(YOLOX_MODEL_ID, undefined, { download: false });
    const session = await createModelSession(path, {});
    try {
      await assert.rejects(session.run({ images: new ort.Tensor('float32', new Float32Array(3), [1, 3, 1, 1]) }), Error);
      // Still usable after a failed run.
      const ok = await session.run({ images: new ort.Tensor('float32', new Float32Array(3 * INPUT * INPUT), [1, 3, INPUT, INPUT]) });
      assert.equal(ok.output.dims[1], 3549);
    } finally {
      await session.release();
    }
  });
});
