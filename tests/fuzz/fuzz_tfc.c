/*
 * libFuzzer target: TF_CONFIG text through tfc_new_from_json(), then every
 * accessor a role calls at start-up on what it accepted. A refusal must be
 * one line; an accepted cluster must describe and address itself.
 */
#include "fuzz_util.h"
#include "tfc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet();
    return 0;
}

/* What boot does with an accepted TF_CONFIG: name, print and dial it. */
static void s_use(const tfc_t *c)
{
    char err[PSC_ERR_LEN];
    char ep[512];
    for (int r = 0; r < TFC_NROLES; r++) {
        int n = tfc_count(c, (enum tfc_role) r);
        for (int i = 0; i < n; i++) {
            tfc_endpoint(c, (enum tfc_role) r, i, ep, sizeof ep);
            (void) tfc_host(c, (enum tfc_role) r, i);
            (void) tfc_port(c, (enum tfc_role) r, i);
        }
        if (tfc_check_binary(c, (enum tfc_role) r, err) != 0)
            fuzz_check_err(err);
    }
    (void) tfc_task_name(c);
    (void) tfc_is_acting_chief(c);
    (void) tfc_is_sidecar(c);
    free(tfc_describe(c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = fuzz_cstr(data, size);
    char err[PSC_ERR_LEN] = "";
    tfc_t *c = tfc_new_from_json(json, err);
    if (c == NULL)
        fuzz_check_err(err);
    else
        s_use(c);
    tfc_destroy(&c);
    free(json);
    return 0;
}
