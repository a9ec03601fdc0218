/*
 * The one mutable global the style allows: a sig_atomic_t stop flag.
 */
#include "psc_sig.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t s_stop_signal;

static void s_on_signal(int sig)
{
    s_stop_signal = sig;
}

void psc_sig_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int psc_sig_stop_requested(void)
{
    return (int) s_stop_signal;
}
