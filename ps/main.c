/*
 * psc-ps: a parameter server task. Holds a shard of every variable with its
 * optimizer slots, applies gradients, answers pulls, and exits when the
 * chief says the job is done.
 */
#include "boot.h"
#include "ps_server.h"

int main(int argc, char **argv)
{
    struct boot b;
    int status = 0;
    if (boot_role(argc, argv, TFC_PS, "Serve a shard of the model's variables.",
                  &b, &status) == BOOT_EXIT)
        return status;
    status = ps_server_run(&b);
    boot_release(&b);
    return status;
}
