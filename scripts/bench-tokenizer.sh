#!/usr/bin/env bash
# Tokenizer benchmark (issue: tokenizer): encode MB/s, 1 thread and all threads, against jtokkit and HuggingFace
# tokenizers (through DJL) with identical ids checked first; then training a 32k vocabulary on ~12 MB against
# `spm_train --model_type=bpe` at equal settings (needs Debian's sentencepiece package).
# usage: scripts/bench-tokenizer.sh [SHARED_CORPUS] [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="$(cd "${1:-$ROOT/../shared/corpus}" && pwd)"
ROUNDS="${2:-5}"
cd "$ROOT"
mvn -q -DskipTests package -pl bench -am
echo "## encode throughput"
java -Xmx4g -cp "bench/target/sparkgpt-bench-0.1.0-SNAPSHOT.jar:$(cat bench/target/classpath.txt)" \
  io.sparkgpt.bench.TokenizerBench "$CORPUS" "$ROUNDS"
echo
echo "## BPE training against spm_train (same text, same vocabulary, both lossless)"
mvn -q -pl tokenizer test -Dtest=TrainerVsSentencePieceTest -Dsparkgpt.corpus="$CORPUS" \
  -Dsurefire.failIfNoSpecifiedTests=false 2>&1 | grep -E "^vocab" || true
