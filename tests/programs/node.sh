# node.sh: Node.js under each setting runs a JSON-heavy script: a 100,000-record object
# built, JSON.stringify'd (13 MB), parsed back, transformed through Maps and Sets,
# stringified again (20 MB), written to a file and hashed with its crypto module. The
# hashes it prints must be those of the file (sha256sum) and of a reference run under
# glibc.

. "$abs_top_srcdir/tests/programs/lib.sh"

corpus_plan 2
require node sha256sum

cat >"$HK_TMP/json.js" <<'JS'
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const sha = (s) => crypto.createHash("sha256").update(s).digest("hex");
const records = {};
for (let i = 0; i < 100000; i++) {
  records["id" + ((i * 7919) % 1000003)] = {
    n: i,
    name: "record " + i,
    tags: Array.from({ length: i % 7 }, (_, k) => "t" + ((i + k) % 50)),
    nested: { x: i / 8, ok: i % 3 === 0, s: "x".repeat(i % 40) },
  };
}
const text = JSON.stringify(records);
const back = JSON.parse(text);
const byTag = new Map();
for (const [key, r] of Object.entries(back))
  for (const t of r.tags) {
    if (!byTag.has(t)) byTag.set(t, new Set());
    byTag.get(t).add(key);
  }
const summary = [...byTag.entries()]
  .sort((a, b) => (a[0] < b[0] ? -1 : 1))
  .map(([t, keys]) => ({ t, count: keys.size, first: [...keys].sort()[0] }));
const out = JSON.stringify({ records: back, summary }, null, 1);
fs.writeFileSync(process.argv[2], out);
console.log("sizes", text.length, out.length, "same", JSON.stringify(back) === text);
console.log("sha", sha(out));
JS

want=$(plain node "$HK_TMP/json.js" "$HK_TMP/ref.json")
want_sha=$(sha "$HK_TMP/ref.json")
[ "$(printf '%s\n' "$want" | sed -n 2p)" = "sha $want_sha" ] ||
    fail_rest "the reference run under glibc failed: $want"

body() {
    got=$(run node "$HK_TMP/json.js" "$HK_TMP/$setting.json")
    check_eq "JSON.stringify/parse of 100,000 records, Maps and Sets: the glibc run's output" \
        "$want" "$got"
    check_eq "... and the file it wrote hashes (sha256sum) as it said" \
        "sha $(sha "$HK_TMP/$setting.json")" \
        "$(printf '%s\n' "$got" | sed -n 2p)"
    rm -f "$HK_TMP/$setting.json"
}
corpus_run body

tap_done
