/*
 * The ONNX form of an export: model.onnx (opset 13) with the preprocessing
 * as its first node (Mul by input_scale), then per layer MatMul and Add
 * (int8 kernels through DequantizeLinear, per output column), Relu between
 * layers and Softmax last. Input EXPORT_INPUT_NAME is float32
 * [batch, input_dim] of raw pixel values; output EXPORT_OUTPUT_NAME is
 * float32 [batch, classes]. Written with protobuf-c from ONNX's own
 * onnx.proto.
 *
 * The names are stable (ir_version 7, producer "psc"; layers count from 0):
 *   preprocess      Mul(pixels, input_scale) -> pixels_scaled; input_scale
 *                   is a float32 scalar initializer
 *   layer<l>_dequantize  int8 only: DequantizeLinear(layer<l>_kernel_q
 *                   int8 [in, out], layer<l>_kernel_scale float32 [out],
 *                   layer<l>_kernel_zero int8 [out], all 0; axis=-1,
 *                   the output column, as 1 would be, but not fused by
 *                   onnxruntime into a kernel that quantizes activations)
 *                   -> layer<l>_kernel
 *   layer<l>_matmul MatMul(x, layer<l>_kernel float32 [in, out])
 *   layer<l>_add    Add(layer<l>_matmul, layer<l>_bias float32 [out])
 *   layer<l>_relu   Relu, where the layer has one
 *   softmax         Softmax(axis=1) -> probabilities
 * Each node's output is named as the node. Initializers are raw_data,
 * little-endian.
 */
#ifndef EXPORT_ONNX_H
#define EXPORT_ONNX_H

struct export_model;

/*
 * Writes dir/model.onnx for m (float32 or int8; the folder exists)
 * durably (ckpt_io_write_file()). Returns 0, PSC_EINVAL when m's layers
 * do not chain from input_dim to classes or lack their arrays, or the
 * PSC_EIO of the write, with one line in err.
 */
int export_onnx_write(const char *dir, const struct export_model *m, char *err);

/*
 * Parses the file at path and checks that it is m's graph: opset, input
 * and output names and shapes, every initializer's name, data type, dims
 * and raw_data size, input_scale's value, and the nodes in order. Returns
 * 0, PSC_EIO (the file cannot be read), PSC_EPROTO with one line in err
 * naming the file and what disagrees (also for a truncated or garbage
 * file), or PSC_EINVAL when m's own layers do not chain.
 */
int export_onnx_check(const char *path, const struct export_model *m,
                      char *err);

#endif
