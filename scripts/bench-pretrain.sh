#!/usr/bin/env bash
# Benchmark of `sparkgpt pretrain` (parameter averaging on Spark): tokens/s with 1 and 2 workers, the scaling
# efficiency throughput(2) / (2 x throughput(1)) at averaging intervals K = 1, 4, 16, the averaging overhead per
# round, and convergence: validation loss after the same tokens for 1 worker (batch 2B) and 2 workers (batch B
# each) with K = 1, 4, 16. Model `small` (T=256, d=256, L=6, H=8) on a vocabulary-8192 tokenizer trained on the
# shared corpus' English prose; 1 ND4J thread per worker. Prints a Markdown table.
# usage: scripts/bench-pretrain.sh [STEPS=48] [BATCH=4] [SHARED_CORPUS] [WORK_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STEPS="${1:-48}"
B="${2:-4}"
CORPUS="${3:-$ROOT/../shared/corpus}"
WORK="${4:-${TMPDIR:-/tmp}/sparkgpt-bench-pretrain}"
SG=("$ROOT/scripts/sparkgpt")
mkdir -p "$WORK"
(cd "$ROOT" && mvn -q -DskipTests package -pl jobs,bench -am)
export SPARKGPT_SKIP_BUILD=1
TEXT="$CORPUS/prose_en"
[[ -f "$WORK/tokenizer.json" ]] || "${SG[@]}" train-tokenizer -i "$TEXT" --doc-split blank-line --vocab-size 8192 \
  -o "$WORK/tokenizer.json" >"$WORK/tok.log" 2>&1
[[ -f "$WORK/data/manifest.json" ]] || "${SG[@]}" tokenize -i "$TEXT" --doc-split blank-line -t "$WORK/tokenizer.json" \
  -o "$WORK/data" --seq-len 256 --val-fraction 0.02 >"$WORK/tokenize.log" 2>&1

run() { # name workers batch K [extra args]
  local name=$1 n=$2 b=$3 k=$4; shift 4
  echo "pretrain $name: $n worker(s) x batch $b, K=$k, $STEPS steps" >&2
  "${SG[@]}" pretrain --data "$WORK/data" --output "$WORK/run-$name" --preset small --workers "$n" --batch-size "$b" \
    --averaging-every "$k" --steps "$STEPS" --warmup $((STEPS / 4)) --lr 1e-3 --eval-every 1000000 \
    --eval-batches 8 --checkpoint-every 0 --no-resume --no-verify "$@" >"$WORK/$name.log" 2>&1 \
    || { tail -5 "$WORK/$name.log" >&2; exit 1; }
}
rm -rf "$WORK"/run-*
run w1-b$B 1 "$B" 16 --master "local[1]"
run w1-b$((2 * B)) 1 $((2 * B)) 16 --master "local[1]"
for k in 16 4 1; do run w2-k$k 2 "$B" "$k" --master "local[2]"; done
# The same K=16 run on a standalone cluster of 2 one-core workers (separate executor JVMs) on this host.
export SPARKGPT_CLUSTER_DIR="$WORK/cluster"
"$ROOT/scripts/cluster" stop >/dev/null 2>&1 || true
"$ROOT/scripts/cluster" start --workers 2 --cores 1 --memory 3g --port 7177 --webui-port 8181 >"$WORK/cluster.log"
trap '"$ROOT/scripts/cluster" stop >/dev/null 2>&1 || true' EXIT
run w1-b$B-cluster 1 "$B" 16 --master spark://127.0.0.1:7177 --conf spark.executor.memory=2500m
run w2-k16-cluster 2 "$B" 16 --master spark://127.0.0.1:7177 --conf spark.executor.memory=2500m
java -cp "$ROOT/bench/target/sparkgpt-bench-0.1.0-SNAPSHOT.jar:$(cat "$ROOT/bench/target/classpath.txt")" \
  io.sparkgpt.bench.PretrainBenchPlot "$WORK/pretrain-convergence.png" "small: training loss, 1 worker vs 2 workers" \
  "1 worker, batch $((2 * B))=$WORK/run-w1-b$((2 * B))" "2 workers x $B, K=1=$WORK/run-w2-k1" \
  "2 workers x $B, K=4=$WORK/run-w2-k4" "2 workers x $B, K=16=$WORK/run-w2-k16"
echo "plot: $WORK/pretrain-convergence.png" >&2

python3 - "$WORK" "$B" <<'PY'
import json, statistics, sys
w, b = sys.argv[1], int(sys.argv[2])
def load(name):
    rows = [json.loads(l) for l in open(f"{w}/run-{name}/metrics.jsonl") if l.strip()]
    rounds = [r for r in rows if "loss" in r]
    steady = rounds[1:] or rounds       # the first round also builds the graph and warms up the JIT
    tps = sum(r["tokens"] - p["tokens"] for p, r in zip(rounds, rounds[1:])) / sum(r["ms"] for r in rounds[1:]) * 1000 \
        if len(rounds) > 1 else rounds[0]["tokens_per_s"]
    val = [r["val_loss"] for r in rows if "val_loss" in r][-1]
    return dict(tps=tps, val=val, tokens=rounds[-1]["tokens"],
                avg=statistics.median(r["averaging_ms"] for r in steady),
                ms=statistics.median(r["ms"] for r in steady),
                compute=statistics.median(r["compute_ms"] for r in steady))
one = load(f"w1-b{b}")
one_cluster = load(f"w1-b{b}-cluster")
ref = load(f"w1-b{2*b}")
print("\n| run | tokens | tokens/s | scaling efficiency | ms/round | compute ms | averaging+overhead ms | val loss | vs 1 worker (batch 2B) |")
print("|---|---|---|---|---|---|---|---|---|")
print(f"| 1 worker, batch {b} | {one['tokens']:,} | {one['tps']:,.0f} | 1.00 | {one['ms']:.0f} | {one['compute']:.0f} | {one['avg']:.0f} | {one['val']:.4f} | |")
print(f"| 1 worker, batch {b}, standalone cluster | {one_cluster['tokens']:,} | {one_cluster['tps']:,.0f} | 1.00 | {one_cluster['ms']:.0f} | {one_cluster['compute']:.0f} | {one_cluster['avg']:.0f} | {one_cluster['val']:.4f} | |")
print(f"| 1 worker, batch {2*b} | {ref['tokens']:,} | {ref['tps']:,.0f} | | {ref['ms']:.0f} | {ref['compute']:.0f} | {ref['avg']:.0f} | {ref['val']:.4f} | 0.0% |")
for name, label in [("w2-k16", "K=16"), ("w2-k4", "K=4"), ("w2-k1", "K=1"), ("w2-k16-cluster", "K=16, standalone cluster")]:
    r = load(name)
    eff = r["tps"] / (2 * (one_cluster if "cluster" in name else one)["tps"])
    print(f"| 2 workers x batch {b}, {label} | {r['tokens']:,} | {r['tps']:,.0f} | {eff:.2f} | {r['ms']:.0f} | {r['compute']:.0f} | {r['avg']:.0f} | {r['val']:.4f} | {100*(r['val']-ref['val'])/ref['val']:+.1f}% |")
PY
