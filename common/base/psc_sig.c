/*
 * The one mutable global the style allows: the stop flag. The
 * time the first stop signal arrived rides with it, so a role can say how
 * long it took to stop (an orchestrator's stop time is mostly its own).
 */
#include "psc_sig.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/*
 * Atomics, not volatile sig_atomic_t: the handler runs on whichever thread
 * the signal lands on, and other threads (the acting chief's, a pool's)
 * read the flag. Lock-free atomics are safe in a handler (C11 7.14.1.1).
 */
static atomic_int s_stop_signal;
/* Nanoseconds on CLOCK_MONOTONIC; stored before s_stop_signal is set. */
static atomic_llong s_stop_at_ns;

static void s_on_signal(int sig)
{
    int none = 0;
    struct timespec ts;
    /* clock_gettime is async-signal-safe (POSIX.1-2008). */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long ns = (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (atomic_load(&s_stop_signal) != 0)
        return;
    atomic_store(&s_stop_at_ns, ns);
    atomic_compare_exchange_strong(&s_stop_signal, &none, sig);
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
    return atomic_load(&s_stop_signal);
}

double psc_sig_stop_time(void)
{
    if (atomic_load(&s_stop_signal) == 0)
        return 0;
    return (double) atomic_load(&s_stop_at_ns) * 1e-9;
}
