/*
 * The one mutable global the style allows: a sig_atomic_t stop flag. The
 * time the first stop signal arrived rides with it, so a role can say how
 * long it took to stop (an orchestrator's stop time is mostly its own).
 */
#include "psc_sig.h"

#include <signal.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t s_stop_signal;
/* Written once, by the handler, before s_stop_signal is set. */
static struct timespec s_stop_at;

static void s_on_signal(int sig)
{
    if (s_stop_signal != 0)
        return;
    /* clock_gettime is async-signal-safe (POSIX.1-2008). */
    clock_gettime(CLOCK_MONOTONIC, &s_stop_at);
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

double psc_sig_stop_time(void)
{
    if (s_stop_signal == 0)
        return 0;
    return (double) s_stop_at.tv_sec + (double) s_stop_at.tv_nsec * 1e-9;
}
