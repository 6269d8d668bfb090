#!/usr/bin/env bash
# Benchmark of `sparkgpt tokenize` (issue: tokenize): tokens/s and MB/s per core at local[1] and local[2] on the
# shared corpus replicated to 208 MB (scripts/bench-corpus.py), against the tokenizer's raw single-thread encode
# speed on the same documents; the ratio per core is what Spark costs (target: at least 0.8).
# usage: scripts/bench-tokenize.sh [SHARED_CORPUS] [WORK_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="${1:-$ROOT/../shared/corpus}"
WORK="${2:-${TMPDIR:-/tmp}/sparkgpt-bench-clean}"
mkdir -p "$WORK"
[[ -f "$WORK/corpus/part-3.jsonl" ]] || python3 "$ROOT/scripts/bench-corpus.py" "$CORPUS" "$WORK/corpus" --mb 208 --parts 4
(cd "$ROOT" && mvn -q -DskipTests package -pl bench,jobs -am)
P="$WORK/corpus"
FILES="$P/part-0.jsonl $P/part-1.jsonl $P/part-2.jsonl $P/part-3.jsonl"
# shellcheck disable=SC2086
RAW=$(java -Xmx6g -cp "$ROOT/bench/target/sparkgpt-bench-0.1.0-SNAPSHOT.jar:$(cat "$ROOT/bench/target/classpath.txt")" \
  io.sparkgpt.bench.RawEncodeBench r50k_base 3 $FILES)
echo "$RAW"
for cores in 1 2; do
  echo "running tokenize on local[$cores]" >&2
  SPARKGPT_SKIP_BUILD=1 "$ROOT/scripts/sparkgpt" tokenize --master "local[$cores]" -i "${FILES// /,}" -t r50k_base \
    -o "$WORK/ds-$cores" --seq-len 1024 --shard-tokens 10000000 --overwrite >"$WORK/tokenize-$cores.log" 2>&1 \
    || { tail -5 "$WORK/tokenize-$cores.log" >&2; exit 1; }
done
python3 - "$WORK" "$RAW" <<'PY'
import json, re, sys
w, raw = sys.argv[1], sys.argv[2]
raw_mbs = float(re.search(r"([\d.]+) MB/s", raw).group(1))
raw_tps = float(re.search(r"([\d.]+) tokens/s", raw).group(1))
cold_mbs = float(re.search(r"cold first pass ([\d.]+) MB/s", raw).group(1))
print("\n| run | MB | tokens | wall s | MB/s | tokens/s | MB/s per core | per core / raw encode | per core / cold pass |")
print("|---|---|---|---|---|---|---|---|---|")
print(f"| raw encode, 1 thread (r50k_base) | | | | {raw_mbs:.2f} | {raw_tps:,.0f} | {raw_mbs:.2f} | 1.00 | |")
print(f"| raw encode, cold first pass | | | | {cold_mbs:.2f} | | {cold_mbs:.2f} | | 1.00 |")
for cores in (1, 2):
    m = json.load(open(f"{w}/ds-{cores}/manifest.json"))
    s = m["stats"]
    sec = s["seconds"]
    mb = s["text_bytes"] / 1e6
    print(f"| tokenize local[{cores}] | {mb:.0f} | {s['tokens']:,} | {sec:.0f} | {mb/sec:.2f} | {s['tokens']/sec:,.0f} | "
          f"{mb/sec/cores:.2f} | {mb/sec/cores/raw_mbs:.2f} | {mb/sec/cores/cold_mbs:.2f} |")
PY
