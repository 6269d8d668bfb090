#!/usr/bin/env bash
# Spark GPU discovery script: prints the GPUs of this host as Spark's ResourceInformation JSON, e.g.
#   {"name": "gpu", "addresses": ["0", "1"]}
# Point workers at it with spark.worker.resource.gpu.discoveryScript (standalone: `scripts/cluster start --gpus N`),
# or executors with spark.executor.resource.gpu.discoveryScript (YARN, Kubernetes). The addresses are nvidia-smi's
# device indexes, which sparkgpt binds tasks to as CUDA device ordinals.
set -euo pipefail
command -v nvidia-smi >/dev/null 2>&1 || { echo '{"name": "gpu", "addresses": []}'; exit 0; }
ids=$(nvidia-smi --query-gpu=index --format=csv,noheader | tr -d ' ' | sed 's/.*/"&"/' | paste -sd, -)
echo "{\"name\": \"gpu\", \"addresses\": [${ids}]}"
