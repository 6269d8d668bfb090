#!/usr/bin/env bash
# sft with examples padded one per row against sft --pack, on the Alpaca seed tasks (testdata/corpus/sft), from the
# same base (tiny preset with T=BLOCK, default 512, a 512-token BPE trained on Tiny Shakespeare, 4 pretraining
# steps), 1 worker, batch 8 rows, STEPS steps each, back to back. Rows/s come from the runs' metrics (rounds 2 and on); example
# tokens/s = rows/s x the share of a row that holds example tokens (printed by sft --pack for both layouts).
# usage: scripts/bench-sft-pack.sh [STEPS] [BLOCK]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STEPS="${1:-24}"
BLOCK="${2:-512}"
W="${TMPDIR:-/tmp}/sparkgpt-bench-sft-pack"
S="$ROOT/scripts/sparkgpt"
TEXT="$ROOT/testdata/corpus/prose_en/tinyshakespeare.txt"
rm -rf "$W"
mkdir -p "$W"
"$S" train-tokenizer --master 'local[1]' -i "$TEXT" --doc-split blank-line -o "$W/tokenizer.json" --vocab-size 512 >/dev/null 2>&1
"$S" tokenize --master 'local[1]' -i "$TEXT" --doc-split blank-line -t "$W/tokenizer.json" -o "$W/data" --seq-len "$BLOCK" >/dev/null 2>&1
"$S" pretrain --data "$W/data" --output "$W/base" --preset tiny --block-size "$BLOCK" --steps 4 --workers 1 --batch-size 4 --no-verify >/dev/null 2>&1
for mode in padded packed; do
  "$S" sft --base "$W/base/checkpoint" --data "$ROOT/testdata/corpus/sft/alpaca_seed_tasks.jsonl" --output "$W/$mode" \
    --workers 1 --averaging-every 4 --batch-size 8 --steps "$STEPS" --warmup 2 --eval-every 0 --eval-batches 0 \
    --checkpoint-every 0 --val-fraction 0 $([[ $mode == packed ]] && echo --pack) >"$W/$mode.out" 2>"$W/$mode.log"
done
python3 - "$W" <<'PY'
import json, re, sys
w = sys.argv[1]
log = open(f"{w}/packed.log").read()
m = re.search(r"packed ([\d,]+) train examples into ([\d,]+) rows of (\d+) tokens \(([\d.]+)% filled; one per row: ([\d.]+)%\)", log)
examples, rows, row_tokens = int(m[1].replace(",", "")), int(m[2].replace(",", "")), int(m[3])
fill = {"packed": float(m[4]) / 100, "padded": float(m[5]) / 100}
print(f"\nsft on {examples} Alpaca seed tasks: {rows} packed rows of {row_tokens} tokens; 1 worker x batch 8 rows\n")
print("| layout | examples per row | row fill | ms/step | rows/s | example tokens/s |")
print("|---|---|---|---|---|---|")
rate = {}
for mode in ("padded", "packed"):
    rounds = [json.loads(l) for l in open(f"{w}/{mode}/metrics.jsonl") if '"round"' in l][1:]
    ms = sum(r["ms"] for r in rounds) / sum(4 for r in rounds)
    rows_s = 8 / (ms / 1000)
    rate[mode] = rows_s * fill[mode] * row_tokens
    per_row = 1 if mode == "padded" else examples / rows
    print(f"| {mode} | {per_row:.2f} | {100 * fill[mode]:.1f}% | {ms:.0f} | {rows_s:.1f} | {rate[mode]:,.0f} |")
print(f"\npacked / padded example tokens/s: {rate['packed'] / rate['padded']:.2f}x")
PY
