#!/usr/bin/env bash
# Benchmark of `sparkgpt clean` (issue: clean throughput). Prints one table:
#  - MB/s and MB/s per core for the whole job at local[1] and local[2] on the shared corpus cut into
#    web-page-sized documents and replicated to 208 MB (scripts/bench-corpus.py), with the wall time of each
#    phase and the CPU time of each document-level step;
#  - fuzzy-dedup wall time as the document count grows 1x, 2x, 4x (52, 104, 208 MB) at local[2].
# usage: scripts/bench-clean.sh [SHARED_CORPUS] [WORK_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="${1:-$ROOT/../shared/corpus}"
WORK="${2:-${TMPDIR:-/tmp}/sparkgpt-bench-clean}"
mkdir -p "$WORK"
[[ -f "$WORK/corpus/part-3.jsonl" ]] || python3 "$ROOT/scripts/bench-corpus.py" "$CORPUS" "$WORK/corpus" --mb 208 --parts 4

run() { # name master inputs
  local name=$1 master=$2 input=$3
  echo "running $name ($master, $input)" >&2
  "$ROOT/scripts/sparkgpt" clean --master "$master" -i "$input" -o "$WORK/out-$name" --report "$WORK/$name.json" \
    --overwrite >"$WORK/$name.log" 2>&1 || { tail -5 "$WORK/$name.log" >&2; exit 1; }
}
P="$WORK/corpus"
run l1-4x "local[1]" "$P/part-0.jsonl,$P/part-1.jsonl,$P/part-2.jsonl,$P/part-3.jsonl"
run l2-4x "local[2]" "$P/part-0.jsonl,$P/part-1.jsonl,$P/part-2.jsonl,$P/part-3.jsonl"
run l2-1x "local[2]" "$P/part-0.jsonl"
run l2-2x "local[2]" "$P/part-0.jsonl,$P/part-1.jsonl"

python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
runs = [("l1-4x", 1), ("l2-4x", 2), ("l2-1x", 2), ("l2-2x", 2)]
r = {n: json.load(open(f"{w}/{n}.json")) for n, _ in runs}
print("\n## clean throughput (whole job, all steps)\n")
print("| run | cores | MB in | docs in | kept | wall s | MB/s | MB/s per core |")
print("|---|---|---|---|---|---|---|---|")
for n, cores in runs[:2]:
    x = r[n]; mb = x["input_bytes"] / 1e6; s = x["elapsed_seconds"]
    print(f"| {n} | {cores} | {mb:.0f} | {x['input_docs']:,} | {x['kept_docs']:,} | {s:.0f} | {mb/s:.2f} | {mb/s/cores:.2f} |")
print(f"\nlocal[2] / local[1] speed-up: {r['l1-4x']['elapsed_seconds'] / r['l2-4x']['elapsed_seconds']:.2f}x")
print("\n## wall seconds per phase\n")
phases = list(r["l1-4x"]["phase_seconds"])
print("| run | " + " | ".join(phases) + " |")
print("|---|" + "---|" * len(phases))
for n, _ in runs[:2]:
    print(f"| {n} | " + " | ".join(f"{r[n]['phase_seconds'].get(p, 0):.1f}" for p in phases) + " |")
print("\n## CPU seconds per document-level step (summed over tasks)\n")
steps = list(r["l1-4x"]["step_cpu_seconds"])
print("| run | " + " | ".join(steps) + " |")
print("|---|" + "---|" * len(steps))
for n, _ in runs[:2]:
    print(f"| {n} | " + " | ".join(f"{r[n]['step_cpu_seconds'].get(p, 0):.1f}" for p in steps) + " |")
print("\n## fuzzy dedup as documents grow (local[2])\n")
print("| size | docs into fuzzy dedup | candidate pairs | near-duplicates | fuzzy dedup wall s | s per 10k docs |")
print("|---|---|---|---|---|---|")
for n, label in [("l2-1x", "1x"), ("l2-2x", "2x"), ("l2-4x", "4x")]:
    x = r[n]; f = x["fuzzy_dedup"]; s = x["phase_seconds"]["fuzzy dedup"]
    print(f"| {label} | {f['signatures']:,} | {f['candidate_pairs']:,} | {f['duplicates']:,} | {s:.1f} | {s / f['signatures'] * 1e4:.2f} |")
PY
