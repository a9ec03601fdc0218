/*
 * libFuzzer target: the export reader, export_read(), as psc-serve loads a
 * version. Initialisation writes a real export of a small softmax model
 * (export_write(): weights, model.onnx, tfjs/); each input then replaces
 * its model.json, so the fields, shapes, sizes and checksums it claims are
 * checked against files that exist. The export's own model.json is the
 * generated seed.
 */
#include "export.h"
#include "fuzz_util.h"

static char s_manifest[4096];
static char s_dir[4096];

static void s_model(struct export_model *m)
{
    memset(m, 0, sizeof *m);
    m->dtype = EXPORT_F32;
    m->height = 2;
    m->width = 2;
    m->input_dim = 4;
    m->input_scale = 1.0f / 255;
    m->classes = 3;
    for (int i = 0; i < m->classes; i++)
        snprintf(m->class_names[i], EXPORT_NAME_LEN, "c%d", i);
    m->nlayers = 1;
    struct export_layer *l = &m->layers[0];
    l->in = 4;
    l->out = 3;
    l->kernel = psc_xcalloc(12, sizeof(float));
    l->bias = psc_xcalloc(3, sizeof(float));
    for (int i = 0; i < 12; i++)
        l->kernel[i] = (float) (i - 6) / 8;
    snprintf(m->model_kind, EXPORT_NAME_LEN, "softmax");
    snprintf(m->run_id, EXPORT_NAME_LEN, "fuzz");
    m->step = 1;
}

/* Reads a whole small file; a failure is the rig's, so aborts. */
static char *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    static char buf[1 << 16];
    if (f == NULL)
        abort();
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet();
    char *base = fuzz_tmpdir("export");
    struct export_model m;
    s_model(&m);
    char version[EXPORT_VERSION_LEN];
    char err[PSC_ERR_LEN];
    if (export_write(base, &m, version, err) != 0) {
        fprintf(stderr, "fuzz: export_write: %s\n", err);
        abort();
    }
    export_model_release(&m);
    snprintf(s_dir, sizeof s_dir, "%s/%s", base, version);
    snprintf(s_manifest, sizeof s_manifest, "%s/model.json", s_dir);
    free(base);
    size_t len;
    const char *json = s_slurp(s_manifest, &len);
    fuzz_emit_seed("model.json", json, len);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write_file(s_manifest, data, size);
    struct export_model m;
    char err[PSC_ERR_LEN] = "";
    if (export_read(s_dir, &m, err) == 0) {
        /* What a server does first with a loaded model: predict. */
        float raw[4] = {0, 64, 128, 255};
        float probs[EXPORT_MAX_CLASSES];
        if (m.input_dim == 4 && m.classes <= EXPORT_MAX_CLASSES)
            export_predict(&m, raw, 1, probs);
        export_model_release(&m);
    } else {
        fuzz_check_err(err);
    }
    return 0;
}
