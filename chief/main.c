/*
 * psc-chief: forms the cluster, initialises the variables, owns the global
 * step and the stopping rule, writes metrics, and stops everybody at the
 * end.
 */
#include "boot.h"
#include "chief.h"

int main(int argc, char **argv)
{
    struct boot b;
    int status = 0;
    if (boot_role(argc, argv, TFC_CHIEF, "Coordinate a psc training job.", &b,
                  &status) == BOOT_EXIT)
        return status;
    status = chief_run(&b);
    boot_release(&b);
    return status;
}
