/* scrape.h: one exporter scrape: every segment this user may read (the checks of -l),
 * folded into the series kept from the last scrape (prom.h), as one document. Reads the
 * segments and /proc only. */
#ifndef HS_SCRAPE_H
#define HS_SCRAPE_H

#include <stddef.h>

#include "out.h"

typedef struct hs_scrape_s {
    hs_prom_proc_t **procs; /* the processes seen by the last scrape */
    int nprocs, cap;
    bool per_tid;
} hs_scrape_t;

/* A document in `format`, in a buffer to free() (its length in *len); NULL when out of
 * memory or the base directory cannot be read. */
char *hs_scrape(hs_scrape_t *s, enum hs_prom_format format, size_t *len);
void hs_scrape_free(hs_scrape_t *s);

#endif /* HS_SCRAPE_H */
