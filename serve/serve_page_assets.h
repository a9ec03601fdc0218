/*
 * The page's files (serve/page/), embedded in psc-serve at build time:
 * serve/page/embed.cmake writes them into serve_page_assets.c in the build
 * tree. Read-only data.
 */
#ifndef SERVE_PAGE_ASSETS_H
#define SERVE_PAGE_ASSETS_H

#include <stddef.h>

struct serve_page_asset {
    const char *path; /* the URL path it is served at */
    const char *content_type;
    const unsigned char *data; /* len bytes, then a NUL */
    size_t len;
};

/* The files, ended by one whose path is NULL. */
extern const struct serve_page_asset serve_page_assets[];

#endif
