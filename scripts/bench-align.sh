#!/usr/bin/env bash
# Benchmark of one PPO iteration (issue: alignment): the time split between rollout generation (tokens/s),
# scoring (policy, reference and reward-model forward passes) and the PPO update, for the tiny and small presets.
# Models are untrained (one pretraining step, one reward-model step): timing does not depend on the weights,
# and an untrained policy rarely stops early, so every response has the full --max-new-tokens.
# usage: scripts/bench-align.sh [SHARED_CORPUS] [WORK_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="${1:-$ROOT/../shared/corpus}"
WORK="${2:-${TMPDIR:-/tmp}/sparkgpt-bench-align}"
ITERATIONS=4      # the first iteration (JIT, graph building) is left out of the figures
PROMPTS=8         # per iteration, over 2 workers
NEW=32            # tokens per response
mkdir -p "$WORK"
(cd "$ROOT" && mvn -q -DskipTests package -pl jobs -am)
run() { SPARKGPT_SKIP_BUILD=1 "$ROOT/scripts/sparkgpt" "$@" --master "local[2]" >>"$WORK/bench.log" 2>&1 \
  || { tail -5 "$WORK/bench.log" >&2; exit 1; }; }
TEXT="$CORPUS/prose_en/tinyshakespeare.txt"
[[ -f "$WORK/tokenizer.json" ]] || run train-tokenizer -i "$TEXT" --doc-split blank-line -o "$WORK/tokenizer.json" --vocab-size 2048
head -n 400 "$CORPUS/preference/hh_rlhf_harmless_base_test.jsonl" >"$WORK/pairs.jsonl"
for preset in tiny small; do
  T=$([[ $preset == tiny ]] && echo 128 || echo 256)
  echo "preparing $preset (T=$T)" >&2
  [[ -f "$WORK/data-$T/manifest.json" ]] || run tokenize -i "$TEXT" --doc-split blank-line -t "$WORK/tokenizer.json" \
    -o "$WORK/data-$T" --seq-len "$T" --val-fraction 0.05
  run pretrain --data "$WORK/data-$T" --output "$WORK/base-$preset" --preset "$preset" --steps 1 --batch-size 2 \
    --warmup 1 --no-resume --no-verify
  run train-reward --base "$WORK/base-$preset/checkpoint" --data "$WORK/pairs.jsonl" --output "$WORK/rm-$preset" \
    --steps 1 --batch-size 2 --averaging-every 1 --eval-batches 1 --no-resume
  echo "ppo on $preset" >&2
  run ppo --policy "$WORK/base-$preset/checkpoint" --reward "$WORK/rm-$preset/checkpoint" \
    --prompts "$CORPUS/sft/alpaca_seed_tasks.jsonl" --output "$WORK/ppo-$preset" --iterations "$ITERATIONS" \
    --prompts-per-iteration "$PROMPTS" --max-new-tokens "$NEW" --ppo-epochs 2 --mini-batch 4 --checkpoint-every 0 \
    --no-resume
done
python3 - "$WORK" "$ITERATIONS" "$PROMPTS" "$NEW" <<'PY'
import json, sys
w, iters, prompts, new = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"\nPPO iteration, {prompts} prompts x {new} new tokens over 2 workers (local[2]), 2 PPO epochs x mini-batch 4; "
      f"means of iterations 2..{iters}\n")
print("| preset | rollout ms | generation ms | generation tokens/s | scoring ms | PPO update ms | iteration ms |")
print("|---|---|---|---|---|---|---|")
for preset in ("tiny", "small"):
    rows = [json.loads(l) for l in open(f"{w}/ppo-{preset}/metrics.jsonl") if l.strip()][1:]
    mean = lambda k: sum(r[k] for r in rows) / len(rows)
    print(f"| {preset} | {mean('rollout_ms'):,.0f} | {mean('generation_ms'):,.0f} | {mean('generation_tokens_per_s'):,.0f} "
          f"| {mean('scoring_ms'):,.0f} | {mean('update_ms'):,.0f} | {mean('rollout_ms') + mean('update_ms'):,.0f} |")
PY
