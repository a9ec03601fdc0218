/*
 * Prefixed line forwarding: the bytes a child writes to one pipe come out
 * on one of the launcher's streams as whole lines, each starting with the
 * task name ("worker1| "). Partial lines wait in a buffer until their
 * newline arrives or the pipe ends.
 */
#ifndef LAUNCH_LINES_H
#define LAUNCH_LINES_H

#include <stddef.h>
#include <stdio.h>

/* A line longer than this is printed in pieces of this size. */
#define LAUNCH_LINES_MAX 8192

/* Embedded in a task; all fields are private to launch_lines.c. */
struct launch_lines {
    int fd;          /* read end, non-blocking; -1 when closed */
    FILE *dst;       /* borrowed */
    char prefix[48]; /* "worker1| " */
    char *buf;       /* the partial line, not NUL-terminated */
    size_t len;
};

/* Sets up l with no pipe yet; output goes to dst behind "name| ". */
void launch_lines_init(struct launch_lines *l, const char *name, FILE *dst);

/* Takes ownership of fd (the read end of a pipe) and makes it non-blocking. */
void launch_lines_open(struct launch_lines *l, int fd);

/* Returns the pipe's fd for poll(), or -1 when it is closed. */
int launch_lines_fd(const struct launch_lines *l);

/*
 * Reads what the pipe holds (one read) and prints every complete line.
 * At end of file prints the remainder and closes the pipe.
 */
void launch_lines_read(struct launch_lines *l);

/*
 * For a child that has exited: reads what is left in the pipe without
 * waiting, prints the remainder as a last line and closes the pipe.
 */
void launch_lines_finish(struct launch_lines *l);

/* Closes the pipe if open and frees the buffer; l may be re-initialised. */
void launch_lines_release(struct launch_lines *l);

#endif
