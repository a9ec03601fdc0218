/*
 * Command lines from one table per program: getopt_long's arrays, the
 * parse loop's errors and the --help text are all made from it, so they
 * never disagree. Every psc binary parses its options here.
 */
#ifndef PSC_OPTS_H
#define PSC_OPTS_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#define PSC_OPTS_MAX 32

struct psc_opt {
    const char *name; /* the long form, without "--" */
    int id;           /* > 0; an ASCII letter or digit is also the short form */
    const char *arg;  /* the value's placeholder in --help; NULL: a flag */
    const char *help; /* NULL: accepted but not listed */
};

/* One pass over argv; set up by psc_opts_begin(), nothing to release. */
struct psc_opts {
    const struct psc_opt *table;
    size_t n;
    int argc;
    char **argv;
    const char *arg; /* the value of the option psc_opts_next() returned */
    struct option longopts[PSC_OPTS_MAX + 1];
    char shorts[2 * PSC_OPTS_MAX + 2];
};

void psc_opts_begin(struct psc_opts *p, const struct psc_opt *table, size_t n,
                    int argc, char **argv);

/*
 * The id of the next option (its value in p->arg), 0 when the options are
 * over, or PSC_EINVAL with one line in err naming an unknown option or one
 * missing its value.
 */
int psc_opts_next(struct psc_opts *p, char *err);

/* After the options: the next other word of argv, or NULL when none. */
const char *psc_opts_operand(struct psc_opts *p);

/* The table's listed options, one a line, help wrapped at 79 columns. */
void psc_opts_usage(FILE *f, const struct psc_opt *table, size_t n);

#endif
