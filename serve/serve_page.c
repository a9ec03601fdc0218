/*
 * A minimal page at /: which models are served and where their REST
 * endpoints are. Stands in for the browser page proper.
 */
#include "serve_page.h"

#include "psc_alloc.h"

#include <string.h>

static const char s_page[] =
    "<!doctype html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>psc-serve</title></head>\n"
    "<body><h1>psc-serve</h1>\n"
    "<p>TensorFlow Serving's REST API over psc's exports.</p>\n"
    "<ul>\n"
    "<li><code>POST /v1/models/NAME:predict</code></li>\n"
    "<li><code>GET /v1/models/NAME</code> and "
    "<code>/v1/models/NAME/metadata</code></li>\n"
    "<li><a href=\"/monitoring/prometheus/metrics\">metrics</a>, "
    "<a href=\"/healthz\">healthz</a>, <a href=\"/readyz\">readyz</a></li>\n"
    "</ul></body></html>\n";

int serve_page_handle(struct serve_ctx *ctx, const struct serve_request *rq,
                      struct serve_response *rs)
{
    if (strcmp(rq->path, "/") != 0 && strcmp(rq->path, "/page/") != 0 &&
        strcmp(rq->path, "/page/index.html") != 0)
        return 0;
    rs->status = 200;
    rs->content_type = "text/html; charset=utf-8";
    rs->len = sizeof s_page - 1;
    rs->body = psc_xmalloc(rs->len);
    memcpy(rs->body, s_page, rs->len);
    return 1;
}
