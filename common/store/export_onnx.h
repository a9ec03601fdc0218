/*
 * The ONNX form of an export: model.onnx (opset 13) with the preprocessing
 * as its first node (Mul by input_scale), then per layer MatMul and Add
 * (int8 kernels through DequantizeLinear, per output column), Relu between
 * layers and Softmax last. Input EXPORT_INPUT_NAME is float32
 * [batch, input_dim] of raw pixel values; output EXPORT_OUTPUT_NAME is
 * float32 [batch, classes]. Written with protobuf-c from ONNX's own
 * onnx.proto.
 */
#ifndef EXPORT_ONNX_H
#define EXPORT_ONNX_H

struct export_model;

/*
 * Writes dir/model.onnx for m (float32 or int8; the folder exists).
 * Returns 0 or a PSC_E* with one line in err.
 */
int export_onnx_write(const char *dir, const struct export_model *m, char *err);

/*
 * Parses the file at path and checks that it is m's graph: opset, input
 * and output names and shapes, every initializer's name, data type and
 * dims. Returns 0, PSC_EIO, or PSC_EPROTO with one line in err naming the
 * file and what disagrees.
 */
int export_onnx_check(const char *path, const struct export_model *m,
                      char *err);

#endif
