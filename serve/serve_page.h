/*
 * The browser page psc-serve shows at / and the files under /page/: a
 * person's view of the models it serves. Apart from the REST API so that
 * the page can change without touching the routing.
 */
#ifndef SERVE_PAGE_H
#define SERVE_PAGE_H

#include "serve_api.h"

/*
 * Answers rq when its path is the page's (/ or /page/...). Returns 1 when
 * it filled rs, 0 when the path is not the page's (rs untouched).
 */
int serve_page_handle(struct serve_ctx *ctx, const struct serve_request *rq,
                      struct serve_response *rs);

#endif
