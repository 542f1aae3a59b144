import { onnx } from 'onnx-proto';

/** The int8 MobileNetV2's global-pool node and the quantized tensor it writes (see models/manifest.json). */
export const GAP_NODE = 'GlobalAveragePool_97_quant';
export const GAP_TENSOR = '464_quantized';
export const GAP_SCALE = '464_scale';
export const GAP_ZERO_POINT = '464_zero_point';

/** Output names of the edited graph. */
export const LOGITS_OUTPUT = 'output';
export const EMBEDDING_OUTPUT = 'loupe_embedding';
export const EMBEDDING_DIM = 1280;
export const CLASS_COUNT = 1000;

export class ModelGraphError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelGraphError';
  }
}

function dimValue(d: onnx.TensorShapeProto.IDimension): number | string | null {
  if (d.dimParam) return d.dimParam;
  if (d.dimValue === null || d.dimValue === undefined) return null;
  return Number(d.dimValue);
}

/**
 * Returns the model with one more float output, `loupe_embedding` [N, 1280]: the dequantized
 * global-average-pool activation that feeds the classifier. The quantized pool output (uint8,
 * [N, 1280, 1, 1]) goes through DequantizeLinear with the graph's own scale/zero point, then
 * Flatten(axis 1). Only the in-memory copy is changed; the file on disk is never touched.
 * Throws ModelGraphError when the graph is not the one expected (a different export of the model).
 */
export function withEmbeddingOutput(modelBytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(modelBytes);
  if (!model.graph) throw new ModelGraphError('the model has no graph');
  // Decoded messages are full instances: repeated fields are arrays, never null.
  const graph = model.graph as onnx.GraphProto;

  const gap = graph.node.find((n) => n.name === GAP_NODE) as onnx.NodeProto | undefined;
  if (!gap) throw new ModelGraphError(`node ${GAP_NODE} not found: not the expected MobileNetV2 int8 export`);
  if (!gap.output.includes(GAP_TENSOR)) {
    throw new ModelGraphError(`node ${GAP_NODE} does not write ${GAP_TENSOR} (writes ${gap.output.join(', ')})`);
  }
  if (gap.input[3] !== GAP_SCALE || gap.input[4] !== GAP_ZERO_POINT) {
    throw new ModelGraphError(`node ${GAP_NODE} is not quantized with ${GAP_SCALE}/${GAP_ZERO_POINT}`);
  }
  for (const name of [GAP_SCALE, GAP_ZERO_POINT]) {
    const init = graph.initializer.find((t) => t.name === name) as onnx.TensorProto | undefined;
    if (!init) throw new ModelGraphError(`initializer ${name} not found`);
    if (init.dims.length !== 0) throw new ModelGraphError(`${name} is not a scalar (per-tensor quantization expected)`);
  }
  if (!graph.output.some((o) => o.name === LOGITS_OUTPUT)) throw new ModelGraphError(`graph output "${LOGITS_OUTPUT}" not found`);

  const input = graph.input[0];
  const inputDims = (input?.type?.tensorType?.shape?.dim ?? []).map(dimValue);
  if (inputDims.length !== 4 || inputDims[1] !== 3 || inputDims[2] !== 224 || inputDims[3] !== 224) {
    throw new ModelGraphError(`unexpected input shape ${JSON.stringify(inputDims)} (expected [N, 3, 224, 224])`);
  }
  const batch = input.type!.tensorType!.shape!.dim![0];

  if (graph.output.some((o) => o.name === EMBEDDING_OUTPUT)) return modelBytes; // already edited

  const dequantized = `${EMBEDDING_OUTPUT}_nchw`;
  graph.node.push(
    onnx.NodeProto.create({
      name: 'loupe_gap_dequantize',
      opType: 'DequantizeLinear',
      input: [GAP_TENSOR, GAP_SCALE, GAP_ZERO_POINT],
      output: [dequantized],
    }),
    onnx.NodeProto.create({
      name: 'loupe_gap_flatten',
      opType: 'Flatten',
      input: [dequantized],
      output: [EMBEDDING_OUTPUT],
      attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 })],
    }),
  );
  graph.output.push(
    onnx.ValueInfoProto.create({
      name: EMBEDDING_OUTPUT,
      type: {
        tensorType: {
          elemType: onnx.TensorProto.DataType.FLOAT,
          shape: { dim: [batch.dimParam ? { dimParam: batch.dimParam } : { dimValue: batch.dimValue }, { dimValue: EMBEDDING_DIM }] },
        },
      },
    }),
  );
  return onnx.ModelProto.encode(model).finish();
}
