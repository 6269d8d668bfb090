#!/usr/bin/env bash
# Reward-model accuracy on Anthropic hh-rlhf harmless-base pairs (issue 16, item 4): what moves the held-out pairwise
# accuracy of `train-reward` (learning rate, steps, training pairs, base size). Held-out: the last 400 pairs of the
# shared file, never trained on; `sparkgpt eval --pairs` measures each model on them (chance 0.5; 400 pairs give a
# standard error of 0.025 at 0.5, so differences under 0.05 are noise).
# Bases: a 2048-token BPE and two small GPTs pretrained on WikiText-2 + Tiny Shakespeare (experiment data only).
# usage: scripts/bench-reward.sh [SHARED_CORPUS] [WORK_DIR]   (env: RUNS="name:base:pairs:lr:steps ..." to pick runs)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="${1:-$ROOT/../shared/corpus}"
WORK="${2:-${TMPDIR:-/tmp}/sparkgpt-bench-reward}"
mkdir -p "$WORK"
[[ -n "${SPARKGPT_SKIP_BUILD:-}" ]] || (cd "$ROOT" && mvn -q -DskipTests package -pl jobs -am)   # SPARKGPT_SKIP_BUILD=1: the jars as built
run() { SPARKGPT_SKIP_BUILD=1 "$ROOT/scripts/sparkgpt" "$@" 2>>"$WORK/bench.log" || { tail -5 "$WORK/bench.log" >&2; exit 1; }; }
PAIRS="$CORPUS/preference/hh_rlhf_harmless_base_test.jsonl"
TEXT="$CORPUS/prose_en/wikitext-2-raw-v1.test.txt,$CORPUS/prose_en/tinyshakespeare.txt"
total=$(wc -l <"$PAIRS")
tail -n 400 "$PAIRS" >"$WORK/heldout.jsonl"
head -n 1200 "$PAIRS" >"$WORK/train-1200.jsonl"             # what testdata/corpus holds
head -n $((total - 400)) "$PAIRS" >"$WORK/train-all.jsonl"
echo "uptime before: $(uptime)"
[[ -f "$WORK/tokenizer.json" ]] || run train-tokenizer -i "$TEXT" --doc-split blank-line -o "$WORK/tokenizer.json" \
  --vocab-size 2048 --master "local[2]" >/dev/null
[[ -f "$WORK/data/manifest.json" ]] || run tokenize -i "$TEXT" --doc-split blank-line -t "$WORK/tokenizer.json" \
  -o "$WORK/data" --seq-len 256 --val-fraction 0.02 --master "local[2]" >/dev/null
RUNS="${RUNS:-default:d64:1200:1e-4:100 lr1e-3:d64:1200:1e-3:100 lr3e-3:d64:1200:3e-3:100 steps300:d64:1200:1e-3:300
  all-pairs:d64:all:1e-3:300 tiny-base:tiny:all:1e-3:300}"
# d64: d=64, L=2 (the test fixture's shape), 40 steps; tiny: the tiny preset (d=128, L=4), 300 steps; both T=256.
# Reward models train on 128-token pairs (longer ones are rejected), 2 workers x batch 4 pairs.
[[ -d "$WORK/base-d64/checkpoint" ]] || run pretrain --data "$WORK/data" --output "$WORK/base-d64" --preset tiny \
  --block-size 256 --d-model 64 --layers 2 --heads 2 --steps 40 --batch-size 8 --warmup 20 --lr 3e-3 \
  --eval-batches 4 --no-verify >/dev/null
[[ "$RUNS" != *:tiny:* || -d "$WORK/base-tiny/checkpoint" ]] || run pretrain --data "$WORK/data" --output "$WORK/base-tiny" --preset tiny \
  --block-size 256 --steps 300 --batch-size 8 --warmup 20 --lr 2e-3 --eval-batches 4 --no-verify >/dev/null
printf '%s\n' "| run | base | training pairs | lr | steps | training loss (last 10 rounds) | held-out accuracy | mean margin |" \
  "|---|---|---|---|---|---|---|---|" >"$WORK/table.md"
for spec in $RUNS; do
  IFS=: read -r name base pairs lr steps <<<"$spec"
  echo "run $name" >&2
  out="$WORK/rm-$name"
  run train-reward --base "$WORK/base-$base/checkpoint" --data "$WORK/train-$pairs.jsonl" --output "$out" \
    --lr "$lr" --steps "$steps" --seq-len 128 --batch-size 4 --val-fraction 0.02 --eval-every 0 --eval-batches 2 --checkpoint-every 0 --no-resume \
    >/dev/null
  run eval --checkpoint "$out/checkpoint" --pairs "$WORK/heldout.jsonl" --output "$out/heldout.json" >/dev/null
  python3 - "$out" "$name" "$base" "$pairs" "$lr" "$steps" >>"$WORK/table.md" <<'PY'
import json, sys
out, name, base, pairs, lr, steps = sys.argv[1:]
rows = [json.loads(l) for l in open(f"{out}/metrics.jsonl") if l.strip()]
loss = [r["loss"] for r in rows if "loss" in r and "round" in r][-10:]
e = json.load(open(f"{out}/heldout.json"))
print(f"| {name} | {base} | {pairs} ({json.load(open(f'{out}/data/report.json'))['train']}) | {lr} | {steps} "
      f"| {sum(loss) / len(loss):.3f} | {e['accuracy']:.3f} | {e['mean_margin']:.4f} |")
PY
  tail -n 1 "$WORK/table.md" >&2
done
echo "uptime after: $(uptime)"
cat "$WORK/table.md"
