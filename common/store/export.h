/*
 * psc's export format: a model as the tools that run it need it, apart
 * from the training job. BASE/<version>/ (version zero-padded: 0001, as
 * TensorFlow Serving numbers them) holds model.json (what the model is:
 * inputs, preprocessing, layers, outputs, provenance, and the SHA-256 of
 * every other file), the weights as raw little-endian files, model.onnx
 * (export_onnx.h) and tfjs/ (export_tfjs.h). A version is built in a
 * temporary folder beside the others and renamed into place only when
 * complete, so a server never sees half of one.
 *
 * The model is a stack of dense layers: input = raw pixels * input_scale,
 * then for each layer x = x * kernel + bias, ReLU after every layer but
 * the last, softmax after the last (class probabilities).
 */
#ifndef EXPORT_H
#define EXPORT_H

#include <stddef.h>
#include <stdint.h>

#define EXPORT_FORMAT_VERSION 1
#define EXPORT_MAX_LAYERS     9 /* an mlp's 8 hidden layers, then the output */
#define EXPORT_MAX_CLASSES    256
#define EXPORT_NAME_LEN       64
#define EXPORT_VERSION_LEN    16
#define EXPORT_INPUT_NAME     "pixels"
#define EXPORT_OUTPUT_NAME    "probabilities"

enum export_dtype { EXPORT_F32 = 0, EXPORT_INT8 };

struct export_layer {
    int in;
    int out;
    int relu;        /* 1: ReLU follows; 0: the output layer, softmax follows */
    float *kernel;   /* in x out, row-major; for int8 the dequantized values */
    float *bias;     /* out; float32 in every dtype */
    int8_t *qkernel; /* int8 only: in x out, kernel = qkernel * scale[col] */
    float *scale;    /* int8 only: out, one per output column */
};

/*
 * A model to write, or one read back. Owns every array; release with
 * export_model_release().
 */
struct export_model {
    enum export_dtype dtype;
    int height; /* the image; input_dim = height * width */
    int width;
    int input_dim;
    float input_scale; /* 1/255: inputs are raw pixel values 0..255 */
    int classes;
    char class_names[EXPORT_MAX_CLASSES][EXPORT_NAME_LEN];
    int nlayers;
    struct export_layer layers[EXPORT_MAX_LAYERS];
    /* Where it came from. */
    char model_kind[EXPORT_NAME_LEN]; /* the job's: softmax or mlp */
    char run_id[EXPORT_NAME_LEN];
    uint64_t step;
    uint64_t fingerprint; /* the job's */
    int has_eval;         /* accuracy and loss were measured at step */
    double accuracy;
    double loss;
};

/* Frees the arrays; m is all zero afterwards. */
void export_model_release(struct export_model *m);

/*
 * Fills m from the checkpoint folder ckpt_dir (its manifest and the values
 * of every variable): a softmax or mlp over 28 x 28 images, the step, run
 * and fingerprint of the checkpoint. Class names are "0".."classes-1"
 * until export_model_set_classes(). Returns 0 or a PSC_E* with one line
 * in err.
 */
int export_model_from_ckpt(struct export_model *m, const char *ckpt_dir,
                           char *err);

/*
 * Sets the class names (n of them, as job_class_names() gives them), which
 * must name exactly m->classes classes. Returns 0 or PSC_ECONFIG with one
 * line in err.
 */
int export_model_set_classes(struct export_model *m,
                             const char (*names)[EXPORT_NAME_LEN], int n,
                             char *err);

/*
 * Post-training dynamic-range quantization, as TFLite's: every kernel
 * becomes int8 with one scale per output column (max |w| / 127, symmetric,
 * zero point 0); kernel then holds the dequantized values the int8 model
 * computes with. Biases stay float32.
 */
void export_model_quantize(struct export_model *m);

/*
 * Writes m as the next version under base (created if missing): the
 * highest existing version plus one, 0001 in an empty base. The folder is
 * built as base/.tmp-<version>-<pid>, fsynced and renamed into place;
 * when another writer took the version meanwhile, the next is tried. The
 * version written (e.g. "0001") goes to version (EXPORT_VERSION_LEN
 * bytes). Returns 0 or a PSC_E* with one line in err; nothing is left
 * behind on failure.
 */
int export_write(const char *base, const struct export_model *m, char *version,
                 char *err);

/*
 * Reads and checks the version folder dir: model.json (format version,
 * every field's type and range, layers that chain), every file it lists
 * present with its size and SHA-256, model.onnx and tfjs/ agreeing with
 * it. Fills m (release with export_model_release()). Returns 0, or
 * PSC_ENOTFOUND (a missing file), PSC_EPROTO (a bad field, an unknown
 * format version, a disagreeing shape), PSC_ECHECKSUM or PSC_EIO, with one
 * line in err naming the file and the problem.
 */
int export_read(const char *dir, struct export_model *m, char *err);

/*
 * Runs the model on n raw inputs (n x input_dim, pixel values) and writes
 * n x classes probabilities into probs.
 */
void export_predict(const struct export_model *m, const float *raw, int n,
                    float *probs);

/*
 * The newest version under base into version (EXPORT_VERSION_LEN bytes):
 * the highest numbered folder. Returns 0, PSC_ENOTFOUND when there is
 * none, or PSC_EIO.
 */
int export_latest(const char *base, char *version, char *err);

#endif
