// new.cc: C++'s operator new and delete come from libhakmem in every standard form
// (the mangled names resolve there), return usable, aligned, distinct blocks, and fail
// as the standard says: the new_handler is called until it is removed, then
// std::bad_alloc is thrown, or nullptr returned by the nothrow forms. Run linked to
// libhakmem (new-test) and preloaded into a copy linked to nothing of ours (new.sh).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <malloc.h>
#include <memory>
#include <map>
#include <new>
#include <string>
#include <unistd.h>
#include <vector>

static int tests_run, tests_failed;

static void ok(bool cond, const char *what)
{
    tests_run++;
    if (!cond) tests_failed++;
    std::printf("%sok %d - %s\n", cond ? "" : "not ", tests_run, what);
}

static const char *const mangled[] = {"_Znwm",
                                      "_Znam",
                                      "_ZnwmRKSt9nothrow_t",
                                      "_ZnamRKSt9nothrow_t",
                                      "_ZnwmSt11align_val_t",
                                      "_ZnamSt11align_val_t",
                                      "_ZnwmSt11align_val_tRKSt9nothrow_t",
                                      "_ZnamSt11align_val_tRKSt9nothrow_t",
                                      "_ZdlPv",
                                      "_ZdaPv",
                                      "_ZdlPvm",
                                      "_ZdaPvm",
                                      "_ZdlPvRKSt9nothrow_t",
                                      "_ZdaPvRKSt9nothrow_t",
                                      "_ZdlPvSt11align_val_t",
                                      "_ZdaPvSt11align_val_t",
                                      "_ZdlPvmSt11align_val_t",
                                      "_ZdaPvmSt11align_val_t",
                                      "_ZdlPvSt11align_val_tRKSt9nothrow_t",
                                      "_ZdaPvSt11align_val_tRKSt9nothrow_t"};

static int handler_calls;
static void handler()
{
    if (++handler_calls == 3) std::set_new_handler(nullptr);
}

struct alignas(256) Wide {
    char bytes[300];
};

int main()
{
    std::printf("1..12\n");
    int in_hakmem = 0;
    for (const char *name : mangled) {
        Dl_info info;
        void *sym = dlsym(RTLD_DEFAULT, name);
        if (sym && dladdr(sym, &info) && info.dli_fname && std::strstr(info.dli_fname, "libhakmem"))
            in_hakmem++;
        else
            std::printf("# %s resolves to %s\n", name,
                        sym && dladdr(sym, &info) ? info.dli_fname : "nothing");
    }
    ok(in_hakmem == 20, "all 20 forms of operator new and delete resolve into libhakmem");

    // Every form allocates a usable block, and its delete takes it back.
    bool good = true;
    for (std::size_t size : {1ul, 24ul, 232ul, 5000ul, 200000ul}) {
        void *p[8] = {::operator new(size),
                      ::operator new[](size),
                      ::operator new(size, std::nothrow),
                      ::operator new[](size, std::nothrow),
                      ::operator new(size, std::align_val_t(64)),
                      ::operator new[](size, std::align_val_t(4096)),
                      ::operator new(size, std::align_val_t(128), std::nothrow),
                      ::operator new[](size, std::align_val_t(65536), std::nothrow)};
        static const std::size_t align[8] = {16, 16, 16, 16, 64, 4096, 128, 65536};
        for (int i = 0; i < 8; i++) {
            if (!p[i] || malloc_usable_size(p[i]) < size || (uintptr_t)p[i] % align[i])
                good = false;
            if (p[i]) std::memset(p[i], i, size);
        }
        for (int i = 0; i < 8; i++)
            for (std::size_t k = 0; k < size; k++)
                if (static_cast<unsigned char *>(p[i])[k] != i) good = false;
        ::operator delete(p[0]);
        ::operator delete[](p[1], std::nothrow);
        ::operator delete(p[2], size);
        ::operator delete[](p[3], size);
        ::operator delete(p[4], std::align_val_t(64));
        ::operator delete[](p[5], size, std::align_val_t(4096));
        ::operator delete(p[6], std::align_val_t(128), std::nothrow);
        ::operator delete[](p[7], std::align_val_t(65536), std::nothrow);
    }
    ok(good, "every form gives a usable, aligned, distinct block and every delete frees it");

    Wide *w = new Wide[3];
    ok((uintptr_t)w % 256 == 0, "new of an over-aligned type is aligned (aligned new)");
    delete[] w;

    // Failure: the handler is called until it removes itself, then std::bad_alloc.
    const std::size_t huge = SIZE_MAX / 2;
    handler_calls = 0;
    std::set_new_handler(handler);
    bool threw = false;
    try {
        void *volatile p = ::operator new(huge);
        (void)p;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    ok(threw && handler_calls == 3,
       "a failed new calls the new_handler until it is removed, then throws");
    handler_calls = 0;
    std::set_new_handler(handler);
    threw = false;
    try {
        void *volatile p = ::operator new[](huge, std::align_val_t(64));
        (void)p;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    ok(threw && handler_calls == 3, "so does a failed aligned new[]");
    ok(::operator new(huge, std::nothrow) == nullptr, "nothrow new of a huge size returns nullptr");
    ok(::operator new[](huge, std::align_val_t(32), std::nothrow) == nullptr,
       "aligned nothrow new[] of a huge size returns nullptr");
    handler_calls = 0;
    std::set_new_handler(handler);
    ok(::operator new(huge, std::nothrow) == nullptr &&handler_calls == 3,
       "nothrow new calls the new_handler too before giving up");

    // Containers end to end.
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 20000; i++)
        m["key" + std::to_string(i % 997)].push_back(i);
    long sum = 0;
    for (auto &kv : m)
        for (int v : kv.second)
            sum += v;
    ok(m.size() == 997 && sum == 19999L * 20000 / 2, "std::map of strings to vectors");
    auto sp = std::make_shared<std::string>(1000, 'x');
    std::unique_ptr<int[]> arr(new int[100000]());
    ok(sp->size() == 1000 && arr[99999] == 0, "shared_ptr and unique_ptr<int[]>");
    std::string s;
    for (int i = 0; i < 100000; i++)
        s += char('a' + i % 26);
    ok(s.size() == 100000 && s[25] == 'z', "a string grown one character at a time");
    std::vector<std::vector<char>> vv(1000, std::vector<char>(300, 'q'));
    vv.erase(vv.begin(), vv.begin() + 500);
    ok(vv.size() == 500 && vv[0][299] == 'q', "vectors of vectors erased in bulk");
    return tests_failed || tests_run != 12;
}
