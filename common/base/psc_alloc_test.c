/*
 * Unit test for psc_alloc's memory tuning: blocks a second thread
 * allocates and frees (as ZeroMQ's I/O thread does with messages) stay
 * with the process, and psc_alloc_give_back() returns them to the system.
 */
#include "psc_alloc.h"

#include "test.h"

#include <pthread.h>
#include <unistd.h>

#define BLOCKS      16
#define BLOCK_BYTES ((size_t) 2 << 20)

/* Resident bytes of this process. */
static long s_resident(void)
{
    long pages = 0;
    long resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f != NULL);
    /* NOLINTNEXTLINE(cert-err34-c): the kernel writes these numbers. */
    CHECK(fscanf(f, "%ld %ld", &pages, &resident) == 2);
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

/* Allocates, touches and frees message-sized blocks, newest first. */
static void *s_burst(void *arg)
{
    (void) arg;
    char *blocks[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
        blocks[i] = psc_xmalloc(BLOCK_BYTES);
        memset(blocks[i], i + 1, BLOCK_BYTES);
    }
    for (int i = BLOCKS - 1; i >= 0; i--)
        free(blocks[i]);
    return NULL;
}

int main(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    printf("psc_alloc: skipped (the sanitizer's allocator is not glibc's)\n");
    return 0;
#endif
    psc_alloc_tune_for_messages();
    long before = s_resident();
    pthread_t t;
    CHECK(pthread_create(&t, NULL, s_burst, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    long kept = s_resident();
    /* Kept, so the next burst finds its pages mapped... */
    CHECK(kept - before > (long) (BLOCKS * BLOCK_BYTES) / 2);
    psc_alloc_give_back();
    /* ...until the process gives them back. */
    CHECK(kept - s_resident() > (long) (BLOCKS * BLOCK_BYTES) / 2);
    printf("psc_alloc: ok\n");
    return 0;
}
