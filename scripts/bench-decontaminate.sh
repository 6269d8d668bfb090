#!/usr/bin/env bash
# Benchmark of `clean --decontaminate` (issue 15): the clean benchmark corpus (scripts/bench-corpus.py, 104 MB by
# default: MB=208 for the full one) cleaned with all steps at local[1], once without and once with a 10 MB eval
# set (scripts/bench-decontaminate.py: GSM8K and BELLE eval sets, which the corpus contains, plus held-out
# text). Prints one table: wall time of both runs, what decontamination adds and its share of the whole clean,
# the step's CPU time and MB/s per core, and the documents dropped per benchmark.
# INPUT=DIR cleans an existing corpus instead (e.g. the 1 GB one scripts/bench-tokenize.sh builds: 8 parts of
# 128 MB); MASTER sets the Spark master of both runs (local[1]).
# usage: scripts/bench-decontaminate.sh [SHARED_CORPUS] [WORK_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="${1:-$ROOT/../shared/corpus}"
WORK="${2:-${TMPDIR:-/tmp}/sparkgpt-bench-decontaminate}"
MB="${MB:-104}"
EVAL_MB="${EVAL_MB:-10}"
mkdir -p "$WORK"
INPUT="${INPUT:-$WORK/corpus-$MB/part-0.jsonl}"
MASTER="${MASTER:-local[1]}"
[[ -e "$INPUT" ]] || python3 "$ROOT/scripts/bench-corpus.py" "$CORPUS" "$WORK/corpus-$MB" --mb "$MB" --parts 1
[[ -f "$WORK/evals/heldout.jsonl" ]] || python3 "$ROOT/scripts/bench-decontaminate.py" "$CORPUS" "$WORK/evals" --mb "$EVAL_MB"
E="$WORK/evals"
run() { # name master extra-args...
  local name=$1 master=$2; shift 2
  echo "running $name ($master)" >&2
  "$ROOT/scripts/sparkgpt" clean --master "$master" -i "$INPUT" -o "$WORK/out-$name" \
    --report "$WORK/$name.json" --overwrite "$@" >"$WORK/$name.log" 2>&1 || { tail -5 "$WORK/$name.log" >&2; exit 1; }
}
run base "$MASTER"
run decon "$MASTER" --decontaminate "$E/gsm8k.jsonl,$E/belle-eval.jsonl,$E/heldout.jsonl"

python3 - "$WORK" "$(du -b "$E"/*.jsonl | awk '{s+=$1} END {print s}')" "$MASTER" <<'PY'
import json, sys
w, eval_bytes = sys.argv[1], int(sys.argv[2])
b = json.load(open(f"{w}/base.json")); d = json.load(open(f"{w}/decon.json"))
step = next(s for s in d["steps"] if s["step"] == "decontaminate")
cpu = d["step_cpu_seconds"].get("decontaminate", 0)
ph = d["phase_seconds"]
extra = d["elapsed_seconds"] - b["elapsed_seconds"]
print(f"\n## clean --decontaminate ({sys.argv[3]}, {b['input_bytes']/1e6:.0f} MB, {b['input_docs']:,} documents; "
      f"eval sets {eval_bytes/1e6:.1f} MB, {sum(x['eval_ngrams'] for x in d['decontamination']['benchmarks'].values()):,} 13-grams, {d['decontamination']['filter']})\n")
print("| run | wall s | MB/s | kept docs |")
print("|---|---|---|---|")
for n, x in [("clean", b), ("clean --decontaminate", d)]:
    print(f"| {n} | {x['elapsed_seconds']:.1f} | {x['input_bytes']/1e6/x['elapsed_seconds']:.2f} | {x['kept_docs']:,} |")
print(f"\ndecontamination adds {extra:.1f} s = {extra / d['elapsed_seconds'] * 100:.1f}% of the whole clean "
      f"(reading eval sets {ph.get('reading eval sets', 0):.1f} s, verification {ph.get('decontamination check', 0):.1f} s, "
      f"step CPU {cpu:.1f} s = {cpu / d['elapsed_seconds'] * 100:.1f}% of the run's wall time)")
print(f"decontaminate step: {step['bytes_in']/1e6:.0f} MB in, {step['bytes_in']/1e6/cpu if cpu else 0:.1f} MB/s per core; "
      f"hashes hit {d['decontamination']['hashes_hit']:,}, eval n-grams hit {d['decontamination']['eval_ngrams_hit']:,}")
print("\n| benchmark | eval items | eval 13-grams | docs dropped | 13-grams matched |")
print("|---|---|---|---|---|")
for k, x in d["decontamination"]["benchmarks"].items():
    print(f"| {k} | {x['eval_items']:,} | {x['eval_ngrams']:,} | {x['docs_dropped']:,} | {x['ngrams_matched']:,} |")
PY
