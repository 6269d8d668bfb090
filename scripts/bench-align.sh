#!/usr/bin/env bash
# Benchmark of one PPO iteration (issue 16): the time split between rollout generation (tokens/s), scoring (policy,
# reference and reward-model forward passes) and the PPO update, for the tiny and small presets at 1 and 2 workers
# (local[N]), the update by parameter averaging on the workers. (Commit 4c97ad1 also ran the update on the driver,
# --update driver, back to back with UPDATES="workers driver"; that path was removed as not faster.)
# Models are untrained (one pretraining step, one reward-model step): timing does not depend on the weights,
# and an untrained policy rarely stops early, so every response has the full --max-new-tokens.
# usage: scripts/bench-align.sh [SHARED_CORPUS] [WORK_DIR]
#   env: PRESETS="tiny small", WORKERS="1 2", ITERATIONS=4, NEW=32 (tokens per response)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="${1:-$ROOT/../shared/corpus}"
WORK="${2:-${TMPDIR:-/tmp}/sparkgpt-bench-align}"
ITERATIONS="${ITERATIONS:-4}"   # the first iteration (JIT, buffers) is left out of the figures
PRESETS="${PRESETS:-tiny small}"
WORKERS="${WORKERS:-1 2}"
PROMPTS=8         # per iteration, over the workers
NEW="${NEW:-32}"
mkdir -p "$WORK"
[[ -n "${SPARKGPT_SKIP_BUILD:-}" ]] || (cd "$ROOT" && mvn -q -DskipTests package -pl jobs -am)   # SPARKGPT_SKIP_BUILD=1: the jars as built
run() { SPARKGPT_SKIP_BUILD=1 "$ROOT/scripts/sparkgpt" "$@" >>"$WORK/bench.log" 2>&1 \
  || { tail -5 "$WORK/bench.log" >&2; exit 1; }; }
TEXT="$CORPUS/prose_en/tinyshakespeare.txt"
[[ -f "$WORK/tokenizer.json" ]] || run train-tokenizer -i "$TEXT" --doc-split blank-line -o "$WORK/tokenizer.json" --vocab-size 2048
head -n 400 "$CORPUS/preference/hh_rlhf_harmless_base_test.jsonl" >"$WORK/pairs.jsonl"
echo "uptime before: $(uptime)"
for preset in $PRESETS; do
  T=$([[ $preset == tiny ]] && echo 128 || echo 256)
  echo "preparing $preset (T=$T)" >&2
  [[ -f "$WORK/data-$T/manifest.json" ]] || run tokenize -i "$TEXT" --doc-split blank-line -t "$WORK/tokenizer.json" \
    -o "$WORK/data-$T" --seq-len "$T" --val-fraction 0.05
  [[ -d "$WORK/base-$preset/checkpoint" ]] || run pretrain --data "$WORK/data-$T" --output "$WORK/base-$preset" \
    --preset "$preset" --steps 1 --batch-size 2 --warmup 1 --no-resume --no-verify --master "local[2]"
  [[ -d "$WORK/rm-$preset/checkpoint" ]] || run train-reward --base "$WORK/base-$preset/checkpoint" \
    --data "$WORK/pairs.jsonl" --output "$WORK/rm-$preset" --steps 1 --batch-size 2 --averaging-every 1 \
    --eval-batches 1 --no-resume --master "local[2]"
  for n in $WORKERS; do
    echo "ppo on $preset, $n worker(s)" >&2
    # no --master: local[N], one core per worker
    run ppo --policy "$WORK/base-$preset/checkpoint" --reward "$WORK/rm-$preset/checkpoint" \
      --prompts "$CORPUS/sft/alpaca_seed_tasks.jsonl" --output "$WORK/ppo-$preset-$n" \
      --iterations "$ITERATIONS" --prompts-per-iteration "$PROMPTS" --max-new-tokens "$NEW" --ppo-epochs 2 \
      --mini-batch 4 --checkpoint-every 0 --workers "$n" --no-resume
  done
done
echo "uptime after: $(uptime)"
python3 - "$WORK" "$ITERATIONS" "$PROMPTS" "$NEW" "$PRESETS" "$WORKERS" <<'PY'
import json, sys
w, iters, prompts, new = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
presets, workers = sys.argv[5].split(), [int(x) for x in sys.argv[6].split()]
print(f"\nPPO iteration, {prompts} prompts x {new} new tokens over N workers (local[N]), reward model, 2 PPO epochs x "
      f"mini-batch 4, update averaged over the workers; means of iterations 2..{iters}\n")
print("| preset | workers | generation ms | generation tokens/s | scoring ms | rollout ms | update ms (steps) "
      "| iteration ms |")
print("|---|---|---|---|---|---|---|---|")
for preset in presets:
    for n in workers:
        rows = [json.loads(l) for l in open(f"{w}/ppo-{preset}-{n}/metrics.jsonl") if l.strip()][1:]
        m = {k: sum(r[k] for r in rows) / len(rows) for k in ("generation_ms", "generation_tokens_per_s", "scoring_ms",
                                                              "rollout_ms", "update_ms", "update_compute_ms")}
        print(f"| {preset} | {n} | {m['generation_ms']:,.0f} | {m['generation_tokens_per_s']:,.0f} | {m['scoring_ms']:,.0f} "
              f"| {m['rollout_ms']:,.0f} | {m['update_ms']:,.0f} ({m['update_compute_ms']:,.0f}) "
              f"| {m['rollout_ms'] + m['update_ms']:,.0f} |")
PY
