// cxxsites: C++ allocation sites behind operator new and new[], for cxx.sh. Each
// function keeps what it allocates, so the sites stay live: demo::make_widgets by new,
// demo::Buffer::grow by new[]. Prints "ready" when done, then waits until standard input
// closes. Run with libhakmem preloaded.
#include <cstdio>
#include <unistd.h>
#include <vector>

namespace demo {

struct Widget {
    long a, b, c, d;
    explicit Widget(long v) : a(v), b(v), c(v), d(v) {}
};

std::vector<Widget *> widgets;

__attribute__((noinline)) void make_widgets(int n)
{
    for (int i = 0; i < n; i++)
        widgets.push_back(new Widget(i));
}

struct Buffer {
    std::vector<char *> chunks;
    __attribute__((noinline)) void grow(unsigned long bytes) { chunks.push_back(new char[bytes]); }
};

} // namespace demo

int main()
{
    demo::Buffer buf;
    demo::widgets.reserve(200000);
    for (int r = 0; r < 200; r++) {
        demo::make_widgets(1000);
        buf.grow(4096);
    }
    std::printf("ready\n");
    std::fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    return demo::widgets.empty();
}
