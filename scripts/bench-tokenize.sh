#!/usr/bin/env bash
# Benchmark of `sparkgpt tokenize` (issue 13): tokens/s and MB/s per core at local[1] and local[2] on about 1 GB
# of JSONL text (the shared corpus replicated by scripts/bench-corpus.py into 8 parts of 128 MB; 0.25 GB = parts
# 0-1), against the tokenizer's raw single-thread encode speed on the same documents in the same run; the ratio
# per core is what reading, Spark and writing cost. Targets: default order >= 0.8 of raw per core at local[1],
# >= 0.7 at local[2]; --global-shuffle >= 0.5 at local[1]. Wall-clock ratios mean little on a machine that other
# work loads, so the same ratios are also given per CPU second: the tasks' CPU time (Spark's task metrics) and the
# whole process's (start-up, JIT and GC included) against the encode thread's. Also the peak JVM heap (Spark's
# executor metrics; in embedded mode the driver is the executor) and the peak resident memory of the process,
# each run with a 2 GB heap.
#
# A `parquet` cell reads the same documents as Parquet (columns text and source, made once from the JSONL by
# scripts/JsonlToParquet.java), the form `clean` writes by default. An `untuned` cell runs the default path with the
# JVM's own collector and JIT thresholds (G1, CompileThresholdScaling 1) instead of the launcher's tokenize tuning.
#
# usage: scripts/bench-tokenize.sh [SHARED_CORPUS] [WORK_DIR]
#   CELLS="0.25:1 0.25:2 1:1 1:2 1:1:global 0.25:1:parquet" (default: these six; SIZE_GB:CORES[:global|:parquet|:untuned])
#   RAW_GB=0.25: the documents the raw encode runs on (parts 0-1, which every cell tokenizes; 1 for all of them)
#   SPARKGPT_SKIP_BUILD=1: use the jars as built; REUSE=1: keep the raw encode and the cells already measured
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="${1:-$ROOT/../shared/corpus}"
WORK="${2:-$ROOT/work/bench-tokenize}"
CELLS="${CELLS:-0.25:1 0.25:2 1:1 1:2 1:1:global 0.25:1:parquet}"
RAW_GB="${RAW_GB:-0.25}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
[[ -f "$WORK/corpus/part-7.jsonl" ]] || python3 "$ROOT/scripts/bench-corpus.py" "$CORPUS" "$WORK/corpus" --mb 1024 --parts 8
[[ -n "${SPARKGPT_SKIP_BUILD:-}" ]] || (cd "$ROOT" && mvn -q -o -DskipTests package -pl bench,jobs -am)
P="$WORK/corpus"
files() { # the parts of SIZE_GB, comma-separated
  local n; n=$(python3 -c "print(max(1, round(float('$1') * 8)))")
  local f=()
  for ((i = 0; i < n; i++)); do f+=("$P/part-$i.jsonl"); done
  (IFS=,; echo "${f[*]}")
}
parquet() { # the parts of SIZE_GB as Parquet, made once
  local dir="$WORK/parquet-$1"
  if [[ ! -f "$dir/_SUCCESS" ]]; then
    rm -rf "$dir"
    # shellcheck disable=SC2046
    java -Xmx2g --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
      --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED \
      -cp "$ROOT/jobs/target/sparkgpt-jobs-0.1.0-SNAPSHOT.jar:$(cat "$ROOT/jobs/target/classpath.txt"):$(cat "$ROOT/jobs/target/spark-classpath.txt")" \
      "$ROOT/scripts/JsonlToParquet.java" "$dir" $(files "$1" | tr , ' ') >"$WORK/parquet-$1.log" 2>&1 \
      || { tail -5 "$WORK/parquet-$1.log" >&2; exit 1; }
  fi
  echo "$dir"
}
raw_encode() { # the raw single-thread encode of the RAW_GB documents into $WORK/$1, kept with REUSE
  [[ -n "${REUSE:-}" && -f "$WORK/$1" ]] && return
  # shellcheck disable=SC2046
  java -Xmx8g -cp "$ROOT/bench/target/sparkgpt-bench-0.1.0-SNAPSHOT.jar:$(cat "$ROOT/bench/target/classpath.txt")" \
    io.sparkgpt.bench.RawEncodeBench r50k_base 1 $(files "$RAW_GB" | tr , ' ') | tee "$WORK/$1"
}
uptime | tee -a "$WORK/uptime.txt"
raw_encode raw.txt
for cell in $CELLS; do
  IFS=: read -r size cores mode <<<"$cell"
  name="$size-$cores${mode:+-$mode}"
  [[ -n "${REUSE:-}" && -f "$WORK/wall-$name.txt" ]] && continue
  input=$(files "$size")
  [[ "$mode" != parquet ]] || input=$(parquet "$size")
  order=()
  [[ "$mode" != global ]] || order=(--global-shuffle)
  jvm=""
  [[ "$mode" != untuned ]] || jvm="-XX:+UseG1GC"
  echo "running tokenize $name" >&2
  rm -rf "$WORK/events-$name" && mkdir -p "$WORK/events-$name"
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  SPARKGPT_SKIP_BUILD=1 SPARKGPT_DRIVER_MEMORY=2g SPARKGPT_JAVA_OPTS="$jvm" /usr/bin/time -f "%M %U %S" -o "$WORK/rss-$name.txt" \
    "$ROOT/scripts/sparkgpt" tokenize --master "local[$cores]" -i "$input" -t r50k_base \
    -o "$WORK/ds-$name" --seq-len 1024 --overwrite "${order[@]}" \
    --conf spark.eventLog.enabled=true --conf "spark.eventLog.dir=file://$WORK/events-$name" \
    --conf spark.eventLog.logStageExecutorMetrics=true --conf spark.executor.metrics.pollingInterval=500ms \
    >"$WORK/tokenize-$name.log" 2>&1 || { tail -5 "$WORK/tokenize-$name.log" >&2; exit 1; }
  echo "$start $(date +%s.%N)" >"$WORK/wall-$name.txt"
done
# The host's speed drifts over minutes on a shared VM: the raw encode runs again after the cells, and the ratios are
# against the mean of both runs (each printed).
raw_encode raw-after.txt
uptime | tee -a "$WORK/uptime.txt"
python3 - "$WORK" "$CELLS" <<'PY'
import glob, json, re, sys
w, cells = sys.argv[1], sys.argv[2].split()
runs = [open(f"{w}/{f}").read() for f in ("raw.txt", "raw-after.txt")]
def mean(pattern):
    return sum(float(re.search(pattern, r).group(1)) for r in runs) / len(runs)
raw = runs[0]
raw_mbs = mean(r"([\d.]+) MB/s")
raw_tps = mean(r"([\d.]+) tokens/s")
cold_mbs = mean(r"cold first pass ([\d.]+) MB/s")
raw_mb = float(re.search(r"([\d.]+) MB,", raw).group(1))
print("raw encode MB/s before / after the cells: "
      + " / ".join(re.search(r"([\d.]+) MB/s", r).group(1) for r in runs))

def events(name):
    for f in glob.glob(f"{w}/events-{name}/*"):
        yield from open(f)

def peak_heap(name):
    peak = 0
    for line in events(name):
        if "Executor Metrics" in line or "Executor Peak" in line:
            for m in re.finditer(r'"JVMHeapMemory":(\d+)', line):
                peak = max(peak, int(m.group(1)))
    return peak / 2**20

def task_cpu(name):
    ns = 0
    for line in events(name):
        if '"Event":"SparkListenerTaskEnd"' in line:
            e = json.loads(line)["Task Metrics"]
            ns += e["Executor CPU Time"] + e["Executor Deserialize CPU Time"]
    return ns / 1e9

raw_cpu_mbs = mean(r"per CPU second ([\d.]+) MB/s")
print(f"\nraw encode, 1 thread (r50k_base, {raw_mb:.0f} MB in memory; mean of the runs before and after): {raw_mbs:.2f} MB/s, {raw_tps:,.0f} tokens/s "
      f"(cold first pass {cold_mbs:.2f} MB/s); per CPU second of the thread {raw_cpu_mbs:.2f} MB/s\n")
print("| run | MB | tokens | job s | MB/s | tokens/s | MB/s per core | per core / raw encode "
      "| task CPU s | per task CPU s / raw | process CPU s | per process CPU s / raw | peak heap MB | peak RSS MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for cell in cells:
    size, cores, *mode = cell.split(":")
    name = f"{size}-{cores}" + (f"-{mode[0]}" if mode else "")
    m = json.load(open(f"{w}/ds-{name}/manifest.json"))
    s = m["stats"]
    sec = s["seconds"]
    mb = s["text_bytes"] / 1e6
    rss_kb, user, system = open(f"{w}/rss-{name}.txt").read().split()[-3:]
    rss = int(rss_kb) / 1024
    proc_cpu = float(user) + float(system)
    tcpu = task_cpu(name)
    c = int(cores)
    label = {"global": "--global-shuffle", "parquet": "default, Parquet input",
             "untuned": "default, untuned JVM"}.get(mode[0] if mode else "", "default")
    label = f"{label} local[{c}], {size} GB"
    print(f"| {label} | {mb:.0f} | {s['tokens']:,} | {sec:.1f} | {mb / sec:.2f} | {s['tokens'] / sec:,.0f} | "
          f"{mb / sec / c:.2f} | {mb / sec / c / raw_mbs:.2f} | {tcpu:.1f} | {mb / tcpu / raw_cpu_mbs:.2f} | "
          f"{proc_cpu:.1f} | {mb / proc_cpu / raw_cpu_mbs:.2f} | {peak_heap(name):,.0f} | {rss:,.0f} |")
PY
