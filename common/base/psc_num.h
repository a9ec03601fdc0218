/*
 * Numbers from text the way a user means them: the whole text is one
 * number, with no leading blanks, no trailing letters ("2x"), no overflow
 * and, for reals, no nan or inf. strtol and strtod alone accept all of
 * these, and sscanf's %d wraps "4294967296" to 0.
 */
#ifndef PSC_NUM_H
#define PSC_NUM_H

/* A decimal integer from min to max into *out: 0, or PSC_EINVAL. */
int psc_num_long(const char *text, long min, long max, long *out);
int psc_num_int(const char *text, int min, int max, int *out);

/* A finite real from min to max into *out: 0, or PSC_EINVAL. */
int psc_num_double(const char *text, double min, double max, double *out);

/*
 * A task name "<type>:<index>" such as "worker:3" with 0 <= index < count:
 * returns the index, or PSC_EINVAL for another type, a bad or out-of-range
 * index.
 */
int psc_num_task(const char *name, const char *type, long count);

#endif
