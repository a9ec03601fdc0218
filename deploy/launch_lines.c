/*
 * Line reassembly for the children's pipes. Each line is written with one
 * flush, so lines from different children never interleave mid-line even
 * though they share the launcher's stdout and stderr.
 */
#include "launch_lines.h"

#include "psc_alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * A child that has exited may have left a grandchild that still writes to
 * the pipe; this bounds how long launch_lines_finish() keeps reading.
 */
#define LAUNCH_LINES_DRAIN_READS 64

enum { READ_DATA, READ_EMPTY, READ_EOF };

void launch_lines_init(struct launch_lines *l, const char *name, FILE *dst)
{
    memset(l, 0, sizeof *l);
    l->fd = -1;
    l->dst = dst;
    snprintf(l->prefix, sizeof l->prefix, "%s| ", name);
}

void launch_lines_open(struct launch_lines *l, int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    l->fd = fd;
    if (l->buf == NULL)
        l->buf = psc_xmalloc(LAUNCH_LINES_MAX);
    l->len = 0;
}

int launch_lines_fd(const struct launch_lines *l)
{
    return l->fd;
}

static void s_print(struct launch_lines *l, const char *line, size_t n)
{
    fputs(l->prefix, l->dst);
    fwrite(line, 1, n, l->dst);
    fputc('\n', l->dst);
    fflush(l->dst);
}

/* Prints the complete lines in the buffer and keeps the partial one. */
static void s_emit(struct launch_lines *l)
{
    size_t start = 0;
    for (;;) {
        char *nl = memchr(l->buf + start, '\n', l->len - start);
        if (nl == NULL)
            break;
        size_t end = (size_t) (nl - l->buf);
        s_print(l, l->buf + start, end - start);
        start = end + 1;
    }
    /* A full buffer without a newline would never drain otherwise. */
    if (start == 0 && l->len == LAUNCH_LINES_MAX) {
        s_print(l, l->buf, l->len);
        start = l->len;
    }
    memmove(l->buf, l->buf + start, l->len - start);
    l->len -= start;
}

static void s_flush_and_close(struct launch_lines *l)
{
    if (l->len > 0)
        s_print(l, l->buf, l->len);
    l->len = 0;
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

static int s_read_once(struct launch_lines *l)
{
    if (l->fd < 0)
        return READ_EOF;
    ssize_t n = read(l->fd, l->buf + l->len, LAUNCH_LINES_MAX - l->len);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return READ_EMPTY;
    if (n <= 0) {
        s_flush_and_close(l);
        return READ_EOF;
    }
    l->len += (size_t) n;
    s_emit(l);
    return READ_DATA;
}

void launch_lines_read(struct launch_lines *l)
{
    s_read_once(l);
}

void launch_lines_finish(struct launch_lines *l)
{
    for (int i = 0; i < LAUNCH_LINES_DRAIN_READS; i++) {
        if (s_read_once(l) != READ_DATA)
            break;
    }
    s_flush_and_close(l);
}

void launch_lines_release(struct launch_lines *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    free(l->buf);
    l->buf = NULL;
    l->len = 0;
}
