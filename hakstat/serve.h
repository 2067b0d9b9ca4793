/* serve.h: hakstat --serve, a Prometheus exporter for every hakmem process this user
 * may read, over HTTP (GNU libmicrohttpd). */
#ifndef HS_SERVE_H
#define HS_SERVE_H

#include "options.h"

/* Serve GET /metrics on o->serve ([HOST:]PORT, host 127.0.0.1 by default; port 0 picks a
 * free one) until SIGINT, SIGTERM or SIGHUP. Prints "listening on HOST:PORT" on stdout
 * once ready. Returns an hs_status. */
int hs_serve(const hs_opts_t *o);

#endif /* HS_SERVE_H */
