#!/usr/bin/env bash
# Every stage of the recipe on the repository's own data, each with its held-out figure next to its baseline
# (issue 16): pretrain (the README quickstart's pipeline on sample/), sft on the Alpaca seed tasks, train-reward and
# dpo on hh-rlhf harmless pairs, ppo against that reward model; `sparkgpt eval` measures each on lines the stage
# never trained on. Prints one Markdown table.
# usage: scripts/bench-eval-stages.sh [WORK_DIR]      (SPARKGPT_SKIP_BUILD=1: use the built jars as they are)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
W="${1:-${TMPDIR:-/tmp}/sparkgpt-eval-stages}"
S="$ROOT/scripts/sparkgpt"
mkdir -p "$W/data"
step() { echo "== $*" >&2; }
quiet() { local log="$W/$1.log"; shift; "$@" >"$log" 2>&1 || { tail -5 "$log" >&2; exit 1; }; }

# Held-out splits of the bundled alignment data: training lines first, evaluation lines last.
python3 - "$ROOT/testdata/corpus" "$W/data" <<'PY'
import json, sys
src, out = sys.argv[1], sys.argv[2]
sft = [l for l in open(f"{src}/sft/alpaca_seed_tasks.jsonl") if l.strip()]
pairs = [l for l in open(f"{src}/preference/hh_rlhf_harmless_base_test.jsonl") if l.strip()]
def write(name, lines):
    open(f"{out}/{name}", "w").writelines(lines)
cut = len(sft) * 4 // 5
write("sft-train.jsonl", sft[:cut]); write("sft-heldout.jsonl", sft[cut:])
write("prompts-train.jsonl", [json.dumps({"prompt": json.loads(l)["prompt"]}) + "\n" for l in sft[:cut]])
write("prompts-heldout.jsonl", [json.dumps({"prompt": json.loads(l)["prompt"]}) + "\n" for l in sft[cut:]])
cut = len(pairs) * 4 // 5
write("pairs-train.jsonl", pairs[:cut]); write("pairs-heldout.jsonl", pairs[cut:])
PY
D="$W/data"
step "pretrain: the quickstart pipeline on sample/"
quiet pipeline "$S" pipeline -i "$ROOT/sample" -w "$W/pipeline" --overwrite
BASE="$W/pipeline/run/checkpoint"
quiet eval-pretrain "$S" eval --checkpoint "$BASE" --dataset "$W/pipeline/dataset" --output "$W/eval-pretrain.json"
step "sft"
export SPARKGPT_SKIP_BUILD=1
quiet sft "$S" sft --base "$BASE" --data "$D/sft-train.jsonl" -o "$W/sft" --steps 60 --no-resume
SFT="$W/sft/checkpoint"
quiet eval-sft "$S" eval --checkpoint "$SFT" --completions "$D/sft-heldout.jsonl" --output "$W/eval-sft.json"
quiet eval-sft-base "$S" eval --checkpoint "$BASE" --completions "$D/sft-heldout.jsonl" --output "$W/eval-sft-base.json"
step "train-reward"
quiet reward "$S" train-reward --base "$SFT" --data "$D/pairs-train.jsonl" -o "$W/rm" --steps 60 --no-resume
quiet eval-rm "$S" eval --checkpoint "$W/rm/checkpoint" --pairs "$D/pairs-heldout.jsonl" --output "$W/eval-rm.json"
step "dpo"
quiet dpo "$S" dpo --base "$SFT" --data "$D/pairs-train.jsonl" -o "$W/dpo" --steps 60 --no-resume
quiet eval-dpo "$S" eval --checkpoint "$W/dpo/checkpoint" --reference "$SFT" --pairs "$D/pairs-heldout.jsonl" \
  --output "$W/eval-dpo.json"
step "ppo"
quiet ppo "$S" ppo --policy "$SFT" --reward "$W/rm/checkpoint" --prompts "$D/prompts-train.jsonl" -o "$W/ppo" \
  --iterations 6 --prompts-per-iteration 8 --no-resume
quiet eval-ppo "$S" eval --checkpoint "$W/ppo/checkpoint" --against "$SFT" --reward "$W/rm/checkpoint" \
  --prompts "$D/prompts-heldout.jsonl" --output "$W/eval-ppo.json"

python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
e = {k: json.load(open(f"{w}/eval-{k}.json")) for k in ["pretrain", "sft", "sft-base", "rm", "dpo", "ppo"]}
rows = [
  ("pretrain (pipeline on sample/)", "val perplexity, %d samples" % e["pretrain"]["samples"],
   "%.1f" % e["pretrain"]["perplexity"], "untrained: %.1f" % e["pretrain"]["untrained_perplexity"]),
  ("sft (Alpaca seed tasks)", "completion loss, %d held-out examples" % e["sft"]["examples"],
   "%.3f" % e["sft"]["loss"], "pretrained base: %.3f" % e["sft-base"]["loss"]),
  ("train-reward (hh-rlhf harmless)", "pairwise accuracy, %d held-out pairs" % e["rm"]["pairs"],
   "%.3f" % e["rm"]["accuracy"], "chance: 0.5"),
  ("dpo (same pairs)", "implicit-reward accuracy, %d held-out pairs" % e["dpo"]["pairs"],
   "%.3f" % e["dpo"]["accuracy"], "chance: 0.5"),
  ("ppo (reward model above)", "win rate against the sft policy, %d held-out prompts" % e["ppo"]["prompts"],
   "%.3f" % e["ppo"]["win_rate"], "even: 0.5"),
]
print("\n| stage | held-out measure | trained | baseline |\n|---|---|---|---|")
for r in rows:
    print("| %s | %s | %s | %s |" % r)
PY
