# programs-inputs.sh: the inputs of bench/programs, sourced by it (never run).
#
# gen_<program> writes its program's input under $work; every generator draws from a
# Park-Miller generator with a fixed seed (products stay below 2^53, so mawk and gawk
# agree to the byte), so every invocation, and every allocator, gets the same input.
# The sizes: a full run takes some seconds per program and allocator under glibc on a
# 2-core machine; a quick run (-q) a fraction of a second.

if [ "$quick" = yes ]; then
    xz_bytes=262144 git_commits=20 git_files=6 sql_rows=2000 redis_requests=1000
    gxx_files=1 gxx_opt=-O0 py_keys=5000 redis_settle=0.2
else
    xz_bytes=4194304 git_commits=600 git_files=60 sql_rows=200000 redis_requests=30000
    gxx_files=3 gxx_opt=-O2 py_keys=60000 redis_settle=2
fi
redis_tests=set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,lrange_100,mset

describe() {
    case $1 in
    xz) echo "xz -T2 -6 --block-size=$((xz_bytes / 2)) of $xz_bytes bytes of generated text" ;;
    git-gc) echo "git gc --aggressive of $git_commits commits of $git_files files" ;;
    sqlite3) echo "sqlite3 :memory: < a script of $sql_rows rows" ;;
    redis) echo "redis-benchmark -n $redis_requests -t $redis_tests against redis-server" ;;
    g++) echo "g++ -std=c++17 $gxx_opt -c of $gxx_files generated files" ;;
    python3) echo "PYTHONMALLOC=malloc python3 -I, $py_keys keys" ;;
    esac
}

# The awk function that draws: rnd(n) is uniform in [0, n), from the state `seed`.
awk_rnd='function rnd(n) { seed = (seed * 16807) % 2147483647; return seed % n }'

# Words made of syllables, so that the text compresses like prose, not like noise.
awk_words='function words(n,   i, j, w, syl) {
    split("ka lo mi re tu sa ne vo di pa ri lu ce ba fo ge hi jo ku ma", syl, " ")
    for (i = 1; i <= n; i++) {
        w = ""
        for (j = 0; j <= rnd(4); j++) w = w syl[rnd(20) + 1]
        word[i] = w
    }
}'

gen_xz() {
    awk -v bytes="$xz_bytes" "$awk_rnd $awk_words"'
    BEGIN {
        seed = 12345
        words(4000)
        while (total < bytes) {
            line = ""
            for (k = 6 + rnd(9); k > 0; k--) {
                # Zipf-like: the first words much more often than the rest.
                w = word[int(4000 * (rnd(1000) / 1000) ^ 3) + 1]
                line = line (line == "" ? "" : " ") (rnd(10) == 0 ? rnd(100000) : w)
            }
            print line
            total += length(line) + 1
        }
    }' >"$work/xz.in"
}

# A repository made by git fast-import: each commit rewrites a few lines of a few files,
# so that gc has long delta chains to find. Dates are fixed, so the objects are too.
gen_git_gc() {
    awk -v commits="$git_commits" -v files="$git_files" "$awk_rnd $awk_words"'
    function body(f,   s, l) {
        s = ""
        for (l = 1; l <= 120; l++) s = s text[f, l] "\n"
        return s
    }
    function newline(   s, k) {
        s = ""
        for (k = 4 + rnd(8); k > 0; k--) s = s " " word[rnd(3000) + 1]
        return s
    }
    BEGIN {
        seed = 777
        words(3000)
        for (f = 1; f <= files; f++) for (l = 1; l <= 120; l++) text[f, l] = newline()
        for (c = 1; c <= commits; c++) {
            printf "commit refs/heads/main\nmark :%d\n", c
            printf "committer Bench <bench@example.org> %d +0000\n", 1700000000 + 60 * c
            msg = "change " c
            printf "data %d\n%s\n", length(msg), msg
            if (c > 1) printf "from :%d\n", c - 1
            for (n = (c == 1) ? files : 1 + rnd(4); n > 0; n--) {
                f = (c == 1) ? n : 1 + rnd(files)
                for (k = 1 + rnd(6); k > 0; k--) text[f, 1 + rnd(120)] = newline()
                b = body(f)
                printf "M 100644 inline dir%d/file%d.txt\ndata %d\n%s\n", f % 7, f, length(b), b
            }
        }
    }' >"$work/git.stream" &&
        git init -q -b main "$work/git.repo" &&
        git -C "$work/git.repo" fast-import --quiet <"$work/git.stream" &&
        git -C "$work/git.repo" config gc.auto 0
}

# One script: a table filled by a recursive CTE, an index, sorts and groupings, a
# self-join, updates that grow rows, deletes, a second table built from the first.
gen_sqlite3() {
    cat >"$work/sqlite.sql" <<EOF
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v TEXT, n INTEGER);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $sql_rows)
INSERT INTO t SELECT i, printf('key-%08d', (i * 7919) % $sql_rows),
    printf('%s-%d-%s', substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26, 1 + i % 13), i * 31 % 1000,
           substr('zyxwvutsrqponmlkjihgfedcba', 1 + i % 7, 5 + i % 19)), i % 997
  FROM c;
CREATE INDEX t_k ON t(k);
SELECT n % 100, count(*), sum(length(v)), max(k) FROM t GROUP BY n % 100 ORDER BY 3 DESC LIMIT 5;
SELECT count(*) FROM t a JOIN t b ON a.k = b.k WHERE a.id < b.id;
SELECT v, k FROM t ORDER BY v, k LIMIT 5 OFFSET $((sql_rows / 2));
UPDATE t SET v = v || '/' || k || '/' || v WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
CREATE TABLE u AS SELECT k, group_concat(v, ',') AS vs FROM t GROUP BY n;
SELECT count(*), sum(length(vs)) FROM u;
SELECT count(DISTINCT substr(v, 1, 6)) FROM t;
DROP TABLE u;
EOF
}

gen_redis() {
    :
}

# Files of templates the standard library instantiates many times over: containers of
# strings and variants, algorithms, streams, std::function (quick: a map).
gen_gxx() {
    if [ "$quick" = yes ]; then
        printf '#include <map>\n#include <string>\nint f(std::map<std::string, int> &m) { return m["a"]; }\n' \
            >"$work/gxx1.cc"
        return
    fi
    i=1
    while [ "$i" -le "$gxx_files" ]; do
        cat >"$work/gxx$i.cc" <<EOF
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace unit$i {
template <int N> struct Node {
    std::map<std::string, std::vector<int>> children;
    std::variant<int, double, std::string> value;
    std::function<int(int)> f = [](int x) { return x * N; };
};

template <int N> int walk(const Node<N> &n)
{
    int sum = n.f(N);
    for (const auto &[k, v] : n.children) sum += int(k.size()) + int(v.size());
    return sum + std::visit([](const auto &x) { return int(sizeof x); }, n.value);
}

template <int... Ns> int all() { return (walk(Node<Ns>{}) + ...); }

int run(const std::string &text)
{
    std::unordered_map<std::string, int> count;
    std::istringstream in(text);
    for (std::string w; in >> w;) count[w]++;
    std::vector<std::pair<std::string, int>> v(count.begin(), count.end());
    std::sort(v.begin(), v.end(), [](auto &a, auto &b) { return a.second > b.second; });
    int hits = int(std::count(text.begin(), text.end(), '-'));
    auto p = std::make_shared<Node<$i>>();
    return hits + int(v.size()) + walk(*p) +
           all<1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20>();
}
} // namespace unit$i
EOF
        i=$((i + 1))
    done
}

gen_python3() {
    cat >"$work/dicts.py" <<'EOF'
import json
import sys

n = int(sys.argv[1])
d = {}
for i in range(n):
    k = "key-%d-%s" % (i, "xy" * (i % 17))
    d[k] = [str(i), k.upper(), {"i": i, "s": k[::-1], "t": (i, str(i * 7))}]
s = json.dumps(d)
d2 = json.loads(s)
count = {}
for w in s.split('"'):
    count[w] = count.get(w, 0) + 1
top = sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
for k in list(d2)[::2]:
    del d2[k]
out = ",".join("%s=%s" % (k, v[0]) for k, v in d2.items())
words = sorted(set(out.replace("=", ",").split(",")))
print(len(s), len(out), len(words), top[0])
EOF
}
