/*
 * The TensorFlow.js form of an export: a tfjs/ folder in the layers-model
 * format (model.json with a Keras-style Sequential topology and a
 * weightsManifest, plus one binary weight shard) that tf.loadLayersModel()
 * loads. Input and output as in export.h; int8 models are written with
 * their dequantized float32 weights.
 */
#ifndef EXPORT_TFJS_H
#define EXPORT_TFJS_H

struct export_model;

/*
 * Creates the folder dir and writes m's layers model into it. Returns 0
 * or a PSC_E* with one line in err.
 */
int export_tfjs_write(const char *dir, const struct export_model *m, char *err);

/*
 * Checks the folder dir against m: model.json parses, its layers and the
 * weightsManifest's names, shapes and dtypes agree with m, and the shard
 * files have the sizes the manifest implies. Returns 0, PSC_ENOTFOUND,
 * PSC_EIO, or PSC_EPROTO with one line in err naming the file and the
 * problem.
 */
int export_tfjs_check(const char *dir, const struct export_model *m, char *err);

#endif
