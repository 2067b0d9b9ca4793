/* serve.c: hakstat --serve. GNU libmicrohttpd parses HTTP; this file only picks the
 * format from the Accept header and answers /metrics with a scrape (scrape.h). One
 * polling thread serves every connection without blocking, so an idle or slow client
 * holds one connection slot, never the others; timeouts and limits bound what any
 * client can hold. */
#include "config.h"

#include "serve.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "scrape.h"
#include "seg.h"

/* Limits, documented in hakstat(1), EXPORTER. */
#define SERVE_TIMEOUT_S      10u         /* a connection idle this long is closed */
#define SERVE_CONNECTIONS    64u         /* connections at once */
#define SERVE_PER_IP         8u          /* of which from one address */
#define SERVE_CONN_MEMORY    (32u << 10) /* request buffer per connection */
#define SERVE_LISTEN_BACKLOG 16u

static const char type_om[] = "application/openmetrics-text; version=1.0.0; charset=utf-8";
static const char type_text[] = "text/plain; version=0.0.4; charset=utf-8";

/* The q value among a media range's parameters (from its first ';'), 1 when absent. */
static double quality(const char *p, const char *end)
{
    while (p && p < end) {
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p > 2 && (*p == 'q' || *p == 'Q') && p[1] == '=') return strtod(p + 2, NULL);
        p = memchr(p, ';', (size_t)(end - p));
    }
    return 1.0;
}

/* OpenMetrics when the client prefers it at least as much as the text format. */
static enum hs_prom_format pick_format(const char *accept)
{
    if (!accept) return HS_PROM_TEXT;
    double om = 0, text = 0;
    for (const char *r = accept; *r;) {
        const char *end = strchr(r, ',');
        if (!end) end = r + strlen(r);
        while (r < end && (*r == ' ' || *r == '\t'))
            r++;
        const char *semi = memchr(r, ';', (size_t)(end - r));
        size_t n = (size_t)((semi ? semi : end) - r);
        while (n && (r[n - 1] == ' ' || r[n - 1] == '\t'))
            n--;
        double q = quality(semi, end);
        if (n == 28 && !strncasecmp(r, "application/openmetrics-text", n)) {
            if (q > om) om = q;
        } else if ((n == 10 && !strncasecmp(r, "text/plain", n)) ||
                   (n == 6 && !strncasecmp(r, "text/*", n)) || (n == 3 && !strncmp(r, "*/*", n))) {
            if (q > text) text = q;
        }
        r = *end ? end + 1 : end;
    }
    return om > 0 && om >= text ? HS_PROM_OPENMETRICS : HS_PROM_TEXT;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, "Allow", "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
    static int marker;
    if (*req_cls == NULL) { /* headers only so far */
        *req_cls = &marker;
        return MHD_YES;
    }
    if (*upload_size) { /* a body is read and dropped, within the connection's memory */
        *upload_size = 0;
        return MHD_YES;
    }
    static char not_allowed[] = "only GET and HEAD\n", not_found[] = "not found: try /metrics\n";
    static char failed[] = "scrape failed\n";
    const char *plain = "text/plain; charset=utf-8";
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, plain, not_allowed, sizeof(not_allowed) - 1,
                     MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/metrics"))
        return reply(c, MHD_HTTP_NOT_FOUND, plain, not_found, sizeof(not_found) - 1,
                     MHD_RESPMEM_PERSISTENT);
    enum hs_prom_format format =
        pick_format(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
    size_t len = 0;
    char *doc = hs_scrape(cls, format, &len);
    if (!doc)
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, plain, failed, sizeof(failed) - 1,
                     MHD_RESPMEM_PERSISTENT);
    return reply(c, MHD_HTTP_OK, format == HS_PROM_OPENMETRICS ? type_om : type_text, doc, len,
                 MHD_RESPMEM_MUST_FREE);
}

/* [HOST:]PORT, HOST a name or address ("[::1]" for IPv6). */
static int resolve(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char host[256] = "127.0.0.1";
    const char *port = spec, *colon = strrchr(spec, ':');
    if (colon) {
        size_t n = (size_t)(colon - spec);
        if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') spec++, n -= 2;
        if (n == 0 || n >= sizeof(host)) return -1;
        memcpy(host, spec, n);
        host[n] = '\0';
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 0 || p > 65535) return -1;
    struct addrinfo hints = {.ai_flags = AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static void print_address(struct MHD_Daemon *d, const struct sockaddr_storage *ss, socklen_t sslen)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[128] = "?";
    getnameinfo((const struct sockaddr *)ss, sslen, host, sizeof(host), NULL, 0, NI_NUMERICHOST);
    printf(ss->ss_family == AF_INET6 ? "listening on [%s]:%u\n" : "listening on %s:%u\n", host,
           info ? (unsigned)info->port : 0u);
    fflush(stdout);
}

int hs_serve(const hs_opts_t *o)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (resolve(o->serve, &ss, &sslen) < 0) {
        fprintf(stderr, "hakstat: bad address '%s' ([HOST:]PORT, port 0 to 65535)\n", o->serve);
        return HS_ERR_USAGE;
    }
    /* Signals go to this thread only (sigwait), none to the server's. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    hs_scrape_t scrape = {.per_tid = o->per_tid};
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, answer, &scrape, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_TIMEOUT, SERVE_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
        SERVE_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT, SERVE_PER_IP,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVE_CONN_MEMORY,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, SERVE_LISTEN_BACKLOG, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "hakstat: cannot serve on %s: %s\n", o->serve, strerror(errno));
        return HS_ERR_SYSTEM;
    }
    print_address(d, &ss, sslen);
    int sig;
    while (sigwait(&sigs, &sig) != 0) {
    }
    MHD_stop_daemon(d);
    hs_scrape_free(&scrape);
    return HS_OK;
}
