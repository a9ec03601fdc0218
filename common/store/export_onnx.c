/*
 * model.onnx through protobuf-c and ONNX's own onnx.proto. Writing builds
 * the ModelProto in one heap block whose messages point into each other
 * and into the model's arrays (raw_data is little-endian, as the arrays
 * already are), packs it and stores it durably. Checking unpacks the file
 * and compares every part a runtime depends on with the model.
 */
#include "export_onnx.h"

#include "ckpt_io.h"
#include "export.h"
#include "onnx.pb-c.h"
#include "psc_alloc.h"
#include "psc_err.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ONNX raw_data is little-endian; add byte swapping here"
#endif

#define S_FILE       "model.onnx"
#define S_IR_VERSION 7
#define S_OPSET      13
#define S_PRODUCER   "psc"
#define S_BATCH      "batch"
#define S_SCALE_NAME "input_scale"
#define S_F32        ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define S_I8         ONNX__TENSOR_PROTO__DATA_TYPE__INT8

/* The most a graph holds: Mul, per layer DequantizeLinear, MatMul, Add and
 * Relu, then Softmax; input_scale and per layer four initializers. */
#define S_MAX_NODES (2 + 4 * EXPORT_MAX_LAYERS)
#define S_MAX_INITS (1 + 4 * EXPORT_MAX_LAYERS)
#define S_NODE_IO   3 /* DequantizeLinear's inputs, the most any node has */
/* A node's names: op, name, inputs, output, an attribute; then the
 * initializers' and a few more. */
#define S_MAX_NAMES ((3 + S_NODE_IO + 1) * S_MAX_NODES + S_MAX_INITS + 8)
#define S_NAME_LEN  32

/* A file larger than this is not one psc wrote (9 layers of 4096 x 4096
 * float32 are 604 MB). */
#define S_MAX_FILE ((off_t) 1 << 30)

/* ---- writing ---- */

/*
 * Every message of one model.onnx, so that one free() releases them. The
 * index k of io[], type[], ... is 0 for the input and 1 for the output.
 */
struct s_builder {
    Onnx__ModelProto model;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__GraphProto graph;
    Onnx__ValueInfoProto io[2];
    Onnx__ValueInfoProto *io_ptr[2];
    Onnx__TypeProto type[2];
    Onnx__TypeProto__Tensor tensor[2];
    Onnx__TensorShapeProto shape[2];
    Onnx__TensorShapeProto__Dimension dim[2][2];
    Onnx__TensorShapeProto__Dimension *dim_ptr[2][2];
    Onnx__NodeProto node[S_MAX_NODES];
    Onnx__NodeProto *node_ptr[S_MAX_NODES];
    char *node_in[S_MAX_NODES][S_NODE_IO];
    char *node_out[S_MAX_NODES][1];
    Onnx__AttributeProto attr[S_MAX_NODES];
    Onnx__AttributeProto *attr_ptr[S_MAX_NODES];
    Onnx__TensorProto init[S_MAX_INITS];
    Onnx__TensorProto *init_ptr[S_MAX_INITS];
    int64_t init_dims[S_MAX_INITS][2];
    char names[S_MAX_NAMES][S_NAME_LEN];
    int nnames;
    float input_scale;
    int8_t *zeros; /* the int8 zero points: the widest layer's out zeros */
};

/* A name formatted into the builder; valid as long as b. */
static char *s_name(struct s_builder *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *s_name(struct s_builder *b, const char *fmt, ...)
{
    /* S_MAX_NAMES counts every name a graph can need. */
    assert(b->nnames < S_MAX_NAMES);
    char *out = b->names[b->nnames++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, S_NAME_LEN, fmt, ap);
    va_end(ap);
    return out;
}

/* An initializer: ndims (0..2) dims, data of bytes bytes (borrowed). */
static void s_init(struct s_builder *b, const char *name, int dtype, int ndims,
                   int64_t d0, int64_t d1, const void *data, size_t bytes)
{
    int i = (int) b->graph.n_initializer++;
    assert(i < S_MAX_INITS);
    Onnx__TensorProto *t = &b->init[i];
    *t = (Onnx__TensorProto) ONNX__TENSOR_PROTO__INIT;
    t->name = s_name(b, "%s", name);
    t->has_data_type = 1;
    t->data_type = dtype;
    b->init_dims[i][0] = d0;
    b->init_dims[i][1] = d1;
    t->n_dims = (size_t) ndims;
    t->dims = b->init_dims[i];
    t->has_raw_data = 1;
    /* protobuf-c only reads it: the model stays unchanged. */
    t->raw_data.data = (uint8_t *) data;
    t->raw_data.len = bytes;
    b->init_ptr[i] = t;
}

/*
 * A node named name computing out from the nin inputs; returns it so that
 * an attribute can be added.
 */
static Onnx__NodeProto *s_node(struct s_builder *b, const char *op,
                               const char *name, const char *out, int nin,
                               const char *const *in)
{
    int i = (int) b->graph.n_node++;
    assert(i < S_MAX_NODES && nin <= S_NODE_IO);
    Onnx__NodeProto *n = &b->node[i];
    *n = (Onnx__NodeProto) ONNX__NODE_PROTO__INIT;
    n->op_type = s_name(b, "%s", op);
    n->name = s_name(b, "%s", name);
    for (int k = 0; k < nin; k++)
        b->node_in[i][k] = s_name(b, "%s", in[k]);
    n->n_input = (size_t) nin;
    n->input = b->node_in[i];
    b->node_out[i][0] = s_name(b, "%s", out);
    n->n_output = 1;
    n->output = b->node_out[i];
    b->node_ptr[i] = n;
    return n;
}

/* Gives node n (the latest) the integer attribute "axis". */
static void s_axis(struct s_builder *b, Onnx__NodeProto *n, int64_t axis)
{
    int i = (int) (n - b->node);
    Onnx__AttributeProto *a = &b->attr[i];
    *a = (Onnx__AttributeProto) ONNX__ATTRIBUTE_PROTO__INIT;
    a->name = s_name(b, "axis");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = axis;
    b->attr_ptr[i] = a;
    n->n_attribute = 1;
    n->attribute = &b->attr_ptr[i];
}

/* The graph's input (k 0) or output (k 1): float32 [batch, cols]. */
static void s_value_info(struct s_builder *b, int k, const char *name, int cols)
{
    Onnx__TensorShapeProto__Dimension *d = b->dim[k];
    d[0] = (Onnx__TensorShapeProto__Dimension)
        ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    d[0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    d[0].dim_param = s_name(b, S_BATCH);
    d[1] = (Onnx__TensorShapeProto__Dimension)
        ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    d[1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d[1].dim_value = cols;
    b->dim_ptr[k][0] = &d[0];
    b->dim_ptr[k][1] = &d[1];
    b->shape[k] = (Onnx__TensorShapeProto) ONNX__TENSOR_SHAPE_PROTO__INIT;
    b->shape[k].n_dim = 2;
    b->shape[k].dim = b->dim_ptr[k];
    b->tensor[k] = (Onnx__TypeProto__Tensor) ONNX__TYPE_PROTO__TENSOR__INIT;
    b->tensor[k].has_elem_type = 1;
    b->tensor[k].elem_type = S_F32;
    b->tensor[k].shape = &b->shape[k];
    b->type[k] = (Onnx__TypeProto) ONNX__TYPE_PROTO__INIT;
    b->type[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    b->type[k].tensor_type = &b->tensor[k];
    b->io[k] = (Onnx__ValueInfoProto) ONNX__VALUE_INFO_PROTO__INIT;
    b->io[k].name = s_name(b, "%s", name);
    b->io[k].type = &b->type[k];
    b->io_ptr[k] = &b->io[k];
}

/* The initializers of layer l: its kernel (float, or int8 with scale and
 * zero point) and its bias. */
static void s_layer_inits(struct s_builder *b, const struct export_model *m,
                          int l)
{
    const struct export_layer *ly = &m->layers[l];
    size_t n = (size_t) ly->in * (size_t) ly->out;
    char name[S_NAME_LEN];
    if (m->dtype == EXPORT_INT8) {
        snprintf(name, sizeof name, "layer%d_kernel_q", l);
        s_init(b, name, S_I8, 2, ly->in, ly->out, ly->qkernel, n);
        snprintf(name, sizeof name, "layer%d_kernel_scale", l);
        s_init(b, name, S_F32, 1, ly->out, 0, ly->scale,
               (size_t) ly->out * sizeof(float));
        snprintf(name, sizeof name, "layer%d_kernel_zero", l);
        s_init(b, name, S_I8, 1, ly->out, 0, b->zeros, (size_t) ly->out);
    } else {
        snprintf(name, sizeof name, "layer%d_kernel", l);
        s_init(b, name, S_F32, 2, ly->in, ly->out, ly->kernel,
               n * sizeof(float));
    }
    snprintf(name, sizeof name, "layer%d_bias", l);
    s_init(b, name, S_F32, 1, ly->out, 0, ly->bias,
           (size_t) ly->out * sizeof(float));
}

/*
 * The nodes of layer l, reading the value x; returns the name of the value
 * it produces (the output's for the last layer).
 */
static const char *s_layer_nodes(struct s_builder *b,
                                 const struct export_model *m, int l,
                                 const char *x)
{
    char kernel[S_NAME_LEN], bias[S_NAME_LEN], mm[S_NAME_LEN];
    char add[S_NAME_LEN], relu[S_NAME_LEN];
    snprintf(kernel, sizeof kernel, "layer%d_kernel", l);
    snprintf(bias, sizeof bias, "layer%d_bias", l);
    snprintf(mm, sizeof mm, "layer%d_matmul", l);
    snprintf(add, sizeof add, "layer%d_add", l);
    snprintf(relu, sizeof relu, "layer%d_relu", l);
    if (m->dtype == EXPORT_INT8) {
        char q[S_NAME_LEN], scale[S_NAME_LEN], zero[S_NAME_LEN];
        char dq[S_NAME_LEN];
        snprintf(q, sizeof q, "layer%d_kernel_q", l);
        snprintf(scale, sizeof scale, "layer%d_kernel_scale", l);
        snprintf(zero, sizeof zero, "layer%d_kernel_zero", l);
        snprintf(dq, sizeof dq, "layer%d_dequantize", l);
        const char *in[] = {q, scale, zero};
        /*
         * Per output column: axis -1, the same axis as 1 for the [in, out]
         * kernel. Written as 1, onnxruntime (1.30, default optimizations)
         * fuses DequantizeLinear and MatMul into MatMulNBits, which also
         * quantizes the activations to int8 and moves the probabilities by
         * up to 1e-3; its fusion only takes axis 1 as written.
         */
        s_axis(b, s_node(b, "DequantizeLinear", dq, kernel, 3, in), -1);
    }
    const char *mm_in[] = {x, kernel};
    x = s_node(b, "MatMul", mm, mm, 2, mm_in)->output[0];
    const char *add_in[] = {x, bias};
    x = s_node(b, "Add", add, add, 2, add_in)->output[0];
    if (m->layers[l].relu) {
        const char *relu_in[] = {x};
        x = s_node(b, "Relu", relu, relu, 1, relu_in)->output[0];
    }
    return x;
}

/* Fills b with m's model; b's messages point into m's arrays. */
static void s_build(struct s_builder *b, const struct export_model *m)
{
    b->model = (Onnx__ModelProto) ONNX__MODEL_PROTO__INIT;
    b->model.has_ir_version = 1;
    b->model.ir_version = S_IR_VERSION;
    b->model.producer_name = s_name(b, S_PRODUCER);
    b->opset = (Onnx__OperatorSetIdProto) ONNX__OPERATOR_SET_ID_PROTO__INIT;
    b->opset.domain = s_name(b, "%s", "");
    b->opset.has_version = 1;
    b->opset.version = S_OPSET;
    b->opsets[0] = &b->opset;
    b->model.n_opset_import = 1;
    b->model.opset_import = b->opsets;

    b->graph = (Onnx__GraphProto) ONNX__GRAPH_PROTO__INIT;
    b->graph.name = s_name(b, "psc_%s", m->model_kind);
    s_value_info(b, 0, EXPORT_INPUT_NAME, m->input_dim);
    s_value_info(b, 1, EXPORT_OUTPUT_NAME, m->classes);
    b->graph.n_input = 1;
    b->graph.input = &b->io_ptr[0];
    b->graph.n_output = 1;
    b->graph.output = &b->io_ptr[1];

    b->input_scale = m->input_scale;
    s_init(b, S_SCALE_NAME, S_F32, 0, 0, 0, &b->input_scale, sizeof(float));
    for (int l = 0; l < m->nlayers; l++)
        s_layer_inits(b, m, l);

    const char *pre_in[] = {EXPORT_INPUT_NAME, S_SCALE_NAME};
    const char *x =
        s_node(b, "Mul", "preprocess", "pixels_scaled", 2, pre_in)->output[0];
    for (int l = 0; l < m->nlayers; l++)
        x = s_layer_nodes(b, m, l, x);
    const char *sm_in[] = {x};
    s_axis(b, s_node(b, "Softmax", "softmax", EXPORT_OUTPUT_NAME, 1, sm_in), 1);
    b->graph.node = b->node_ptr;
    b->graph.initializer = b->init_ptr;
    b->model.graph = &b->graph;
}

/* Refuses a model whose layers do not chain from input_dim to classes. */
static int s_check_shape(const struct export_model *m, char *err)
{
    if (m->nlayers < 1 || m->nlayers > EXPORT_MAX_LAYERS)
        return psc_seterr(err, PSC_EINVAL, "cannot export %d layers (1 to %d)",
                          m->nlayers, EXPORT_MAX_LAYERS);
    if (m->dtype != EXPORT_F32 && m->dtype != EXPORT_INT8)
        return psc_seterr(err, PSC_EINVAL, "cannot export dtype %d",
                          (int) m->dtype);
    int in = m->input_dim;
    for (int l = 0; l < m->nlayers; l++) {
        const struct export_layer *ly = &m->layers[l];
        if (ly->in != in || ly->in < 1 || ly->out < 1 ||
            (l == m->nlayers - 1 && ly->out != m->classes))
            return psc_seterr(err, PSC_EINVAL,
                              "layer %d is %d x %d, which does not chain "
                              "from %d inputs to %d classes",
                              l, ly->in, ly->out, m->input_dim, m->classes);
        in = ly->out;
    }
    return 0;
}

/* Refuses a model with a layer whose arrays are missing. */
static int s_check_weights(const struct export_model *m, char *err)
{
    for (int l = 0; l < m->nlayers; l++) {
        const struct export_layer *ly = &m->layers[l];
        int missing = m->dtype == EXPORT_INT8
                          ? ly->qkernel == NULL || ly->scale == NULL
                          : ly->kernel == NULL;
        if (missing || ly->bias == NULL)
            return psc_seterr(err, PSC_EINVAL, "layer %d has no weights", l);
    }
    return 0;
}

/* A builder for m, its int8 zero points allocated; free with s_free(). */
static struct s_builder *s_new(const struct export_model *m)
{
    struct s_builder *b = psc_xcalloc(1, sizeof *b);
    int widest = 1;
    for (int l = 0; l < m->nlayers; l++)
        widest = m->layers[l].out > widest ? m->layers[l].out : widest;
    b->zeros = psc_xcalloc((size_t) widest, 1);
    s_build(b, m);
    return b;
}

static void s_free(struct s_builder *b)
{
    if (b == NULL)
        return;
    free(b->zeros);
    free(b);
}

int export_onnx_write(const char *dir, const struct export_model *m, char *err)
{
    int rc = s_check_shape(m, err);
    if (rc == 0)
        rc = s_check_weights(m, err);
    if (rc != 0)
        return rc;
    struct s_builder *b = s_new(m);
    size_t len = onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = psc_xmalloc(len);
    size_t packed = onnx__model_proto__pack(&b->model, buf);
    assert(packed == len);
    (void) packed;
    rc = ckpt_io_write_file(dir, S_FILE, buf, len, err);
    free(buf);
    s_free(b);
    return rc;
}

/* ---- checking ---- */

/* Reads the file at path into *out (caller frees) and its size *len. */
static int s_read_file(const char *path, uint8_t **out, size_t *len, char *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return psc_seterr(err, PSC_EIO, "cannot open '%s': %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = psc_seterr(err, PSC_EIO, "cannot stat '%s': %s", path,
                            strerror(errno));
        close(fd);
        return rc;
    }
    if (st.st_size > S_MAX_FILE) {
        close(fd);
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': %lld bytes, more than a model psc writes",
                          path, (long long) st.st_size);
    }
    size_t n = (size_t) st.st_size;
    uint8_t *buf = psc_xmalloc(n > 0 ? n : 1);
    int rc = ckpt_io_pread_all(fd, buf, n, 0, path, err);
    close(fd);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}

static const char *s_str(const char *s)
{
    return s != NULL ? s : "";
}

static const char *s_dtype_name(int32_t t, char *buf, size_t cap)
{
    if (t == S_F32)
        return "float32";
    if (t == S_I8)
        return "int8";
    snprintf(buf, cap, "data type %d", (int) t);
    return buf;
}

/* "[128, 10]" */
static void s_dims_str(const int64_t *dims, size_t n, char *buf, size_t cap)
{
    size_t used = (size_t) snprintf(buf, cap, "[");
    for (size_t i = 0; i < n && used < cap; i++)
        used += (size_t) snprintf(buf + used, cap - used, "%s%" PRId64,
                                  i > 0 ? ", " : "", dims[i]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

/* "[batch, 784]", a dimension without a value or name as "?". */
static void s_shape_str(const Onnx__TensorShapeProto *sh, char *buf, size_t cap)
{
    size_t used = (size_t) snprintf(buf, cap, "[");
    for (size_t i = 0; sh != NULL && i < sh->n_dim && used < cap; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
        const char *sep = i > 0 ? ", " : "";
        if (d->value_case ==
            ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            used += (size_t) snprintf(buf + used, cap - used, "%s%" PRId64, sep,
                                      d->dim_value);
        else if (d->value_case ==
                 ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
            used += (size_t) snprintf(buf + used, cap - used, "%s%s", sep,
                                      s_str(d->dim_param));
        else
            used += (size_t) snprintf(buf + used, cap - used, "%s?", sep);
    }
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

static int s_check_header(const char *path, const Onnx__ModelProto *mp,
                          char *err)
{
    if (!mp->has_ir_version || mp->ir_version != S_IR_VERSION)
        return psc_seterr(
            err, PSC_EPROTO, "'%s': ir_version is %" PRId64 ", psc writes %d",
            path, mp->has_ir_version ? mp->ir_version : 0, S_IR_VERSION);
    const Onnx__OperatorSetIdProto *op = NULL;
    for (size_t i = 0; i < mp->n_opset_import; i++)
        if (s_str(mp->opset_import[i]->domain)[0] == '\0')
            op = mp->opset_import[i];
    if (op == NULL)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': no opset import for the default domain", path);
    if (!op->has_version || op->version != S_OPSET)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': opset %" PRId64 " for domain '', psc "
                          "writes %d",
                          path, op->has_version ? op->version : 0, S_OPSET);
    if (mp->graph == NULL)
        return psc_seterr(err, PSC_EPROTO, "'%s': no graph", path);
    return 0;
}

/*
 * The graph's inputs (what "input") or outputs: exactly one, named and
 * shaped as want's float32 [batch, cols].
 */
static int s_check_io(const char *path, const char *what, size_t n,
                      Onnx__ValueInfoProto *const *got,
                      const Onnx__ValueInfoProto *want, char *err)
{
    const char *name = want->name;
    if (n != 1)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': the graph has %zu %ss, expected one ('%s')",
                          path, n, what, name);
    const Onnx__ValueInfoProto *v = got[0];
    if (strcmp(s_str(v->name), name) != 0)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': the graph's %s is '%s', expected '%s'", path,
                          what, s_str(v->name), name);
    const Onnx__TypeProto__Tensor *t = NULL;
    if (v->type != NULL &&
        v->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        t = v->type->tensor_type;
    if (t == NULL || !t->has_elem_type || t->elem_type != S_F32)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': %s '%s' is not a float32 tensor", path, what,
                          name);
    const Onnx__TensorShapeProto *sh = t->shape;
    int64_t cols = want->type->tensor_type->shape->dim[1]->dim_value;
    int ok = sh != NULL && sh->n_dim == 2 &&
             sh->dim[0]->value_case ==
                 ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
             s_str(sh->dim[0]->dim_param)[0] != '\0' &&
             sh->dim[1]->value_case ==
                 ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
             sh->dim[1]->dim_value == cols;
    if (!ok) {
        char shape[128];
        s_shape_str(sh, shape, sizeof shape);
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': %s '%s' has shape %s, model.json says "
                          "[%s, %" PRId64 "]",
                          path, what, name, shape, S_BATCH, cols);
    }
    return 0;
}

static const Onnx__TensorProto *s_find_init(const Onnx__GraphProto *g,
                                            const char *name)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (strcmp(s_str(g->initializer[i]->name), name) == 0)
            return g->initializer[i];
    return NULL;
}

/* The initializer want names: present, of its data type, dims and size. */
static int s_check_init(const char *path, const Onnx__GraphProto *g,
                        const Onnx__TensorProto *want, char *err)
{
    const char *name = want->name;
    const Onnx__TensorProto *t = s_find_init(g, name);
    if (t == NULL)
        return psc_seterr(err, PSC_EPROTO, "'%s': initializer '%s' is missing",
                          path, name);
    if (!t->has_data_type || t->data_type != want->data_type) {
        char a[32], b[32];
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': initializer '%s' is %s, model.json says %s",
                          path, name, s_dtype_name(t->data_type, a, sizeof a),
                          s_dtype_name(want->data_type, b, sizeof b));
    }
    char got_dims[128], want_dims[128];
    s_dims_str(t->dims, t->n_dims, got_dims, sizeof got_dims);
    s_dims_str(want->dims, want->n_dims, want_dims, sizeof want_dims);
    if (strcmp(got_dims, want_dims) != 0)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': initializer '%s' has dims %s, model.json "
                          "says %s",
                          path, name, got_dims, want_dims);
    /* want's raw_data.len is what the dims imply (s_layer_inits). */
    if (!t->has_raw_data || t->raw_data.len != want->raw_data.len)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': initializer '%s' has %zu bytes of raw_data, "
                          "its dims %s imply %zu",
                          path, name, t->has_raw_data ? t->raw_data.len : 0,
                          got_dims, want->raw_data.len);
    return 0;
}

static int s_check_inits(const char *path, const Onnx__GraphProto *g,
                         const struct s_builder *b, float input_scale,
                         char *err)
{
    for (size_t i = 0; i < b->graph.n_initializer; i++) {
        int rc = s_check_init(path, g, b->init_ptr[i], err);
        if (rc != 0)
            return rc;
    }
    if (g->n_initializer != b->graph.n_initializer)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': %zu initializers, model.json implies %zu",
                          path, g->n_initializer, b->graph.n_initializer);
    float scale = 0;
    memcpy(&scale, s_find_init(g, S_SCALE_NAME)->raw_data.data, sizeof scale);
    if (scale != input_scale)
        return psc_seterr(err, PSC_EPROTO, "'%s': %s is %g, model.json says %g",
                          path, S_SCALE_NAME, (double) scale,
                          (double) input_scale);
    return 0;
}

/* Node got against want: operator, inputs, output and axis. */
static int s_check_node(const char *path, size_t i, const Onnx__NodeProto *got,
                        const Onnx__NodeProto *want, char *err)
{
    int same = strcmp(s_str(got->op_type), want->op_type) == 0 &&
               s_str(got->domain)[0] == '\0' && got->n_input == want->n_input &&
               got->n_output == 1;
    for (size_t k = 0; same && k < want->n_input; k++)
        same = strcmp(got->input[k], want->input[k]) == 0;
    if (same)
        same = strcmp(got->output[0], want->output[0]) == 0;
    if (!same)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': node %zu is %s '%s', expected %s '%s' "
                          "computing '%s'",
                          path, i, s_str(got->op_type), s_str(got->name),
                          want->op_type, want->name, want->output[0]);
    for (size_t k = 0; k < want->n_attribute; k++) {
        const Onnx__AttributeProto *wa = want->attribute[k];
        const Onnx__AttributeProto *ga = NULL;
        for (size_t j = 0; j < got->n_attribute; j++)
            if (strcmp(s_str(got->attribute[j]->name), wa->name) == 0)
                ga = got->attribute[j];
        if (ga == NULL || !ga->has_i || ga->i != wa->i)
            return psc_seterr(err, PSC_EPROTO,
                              "'%s': node '%s' has no attribute %s=%" PRId64,
                              path, want->name, wa->name, wa->i);
    }
    return 0;
}

static int s_check_graph(const char *path, const Onnx__GraphProto *g,
                         const struct s_builder *b, float input_scale,
                         char *err)
{
    int rc = s_check_io(path, "input", g->n_input, g->input, &b->io[0], err);
    if (rc == 0)
        rc = s_check_io(path, "output", g->n_output, g->output, &b->io[1], err);
    if (rc == 0)
        rc = s_check_inits(path, g, b, input_scale, err);
    if (rc != 0)
        return rc;
    if (g->n_node != b->graph.n_node)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': %zu nodes, model.json implies %zu", path,
                          g->n_node, b->graph.n_node);
    for (size_t i = 0; i < g->n_node && rc == 0; i++)
        rc = s_check_node(path, i, g->node[i], b->node_ptr[i], err);
    return rc;
}

int export_onnx_check(const char *path, const struct export_model *m, char *err)
{
    int rc = s_check_shape(m, err);
    if (rc != 0)
        return rc;
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = s_read_file(path, &buf, &len, err);
    if (rc != 0)
        return rc;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    if (mp == NULL)
        return psc_seterr(err, PSC_EPROTO,
                          "'%s': not an ONNX model (it does not parse as a "
                          "ModelProto)",
                          path);
    struct s_builder *b = s_new(m);
    rc = s_check_header(path, mp, err);
    if (rc == 0)
        rc = s_check_graph(path, mp->graph, b, m->input_scale, err);
    s_free(b);
    onnx__model_proto__free_unpacked(mp, NULL);
    return rc;
}
