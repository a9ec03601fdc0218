/*
 * SIGINT and SIGTERM ask a role to stop cleanly. The handler only records
 * the signal; loops check psc_sig_stop_requested() between polls, which a
 * signal also interrupts (zmq_poll returns EINTR).
 */
#ifndef PSC_SIG_H
#define PSC_SIG_H

/* Installs the handlers (without SA_RESTART) and ignores SIGPIPE. */
void psc_sig_install(void);

/* The signal that asked to stop, or 0. */
int psc_sig_stop_requested(void);

/* When the first stop signal arrived, on psc_now()'s clock; 0 if none. */
double psc_sig_stop_time(void);

#endif
