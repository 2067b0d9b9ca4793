/* early.c: allocation before libhakmem's initialisation (see early-lib.c), checked from
 * main: the constructor's and its thread's rounds, blocks kept since then (checked and
 * freed now), and one round from main itself. Built with EARLY_PREINIT, a round from a
 * preinit_array entry, which runs before any constructor, makes the first call instead.
 * early-test and early-preinit-test link libearly only and run with libhakmem preloaded
 * (tests/early/early.sh); early-linked-test is linked to libhakmem as well. */
#include "../tap.h"
#include "exercise.h"

extern ex_result_t early_ctor_result, early_thread_result;
extern void *early_kept[EX_NSIZES];

#ifdef EARLY_PREINIT
static ex_result_t preinit_result;

/* Runs before every constructor, so this round makes the process's first call. */
static void preinit(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    ex_run(&preinit_result, 0x9e);
}
__attribute__((section(".preinit_array"), used)) static void (*preinit_entry)(int, char **,
                                                                              char **) = preinit;
#endif

static void report(const ex_result_t *r, const char *who)
{
    if (!tap_ok(r->checks > 100 && r->failures == 0, "%s: %d checks, %d failed", who, r->checks,
                r->failures))
        tap_diag("  first failure: %s", r->checks ? r->first : "nothing ran");
}

int main(void)
{
#ifdef EARLY_PREINIT
    tap_plan(5);
    report(&preinit_result, "a preinit_array entry, the process's first call");
#else
    tap_plan(4);
#endif
    report(&early_ctor_result, "a library's constructor, before libhakmem's init");
    report(&early_thread_result, "a thread started in that constructor");
    int kept_bad = 0;
    for (size_t i = 0; i < EX_NSIZES; i++) {
        if (early_kept[i] == NULL || tu_check(early_kept[i], ex_sizes[i], 1000 + i) != SIZE_MAX)
            kept_bad++;
        free(early_kept[i]);
    }
    tap_ok(kept_bad == 0,
           "blocks allocated in the constructor are intact in main and free (%d bad)", kept_bad);
    ex_result_t main_result = {0};
    ex_run(&main_result, 0x3a1);
    report(&main_result, "main");
    return tap_done();
}
