#!/usr/bin/env bash
# Pretrains, or continues, MetaL-Prompt's target LM in the symbol world (src/SoftPrompt.Experiments/MetaL) into
# checkpoints/metal/target (tracked by git while it runs, so a later session on a new machine continues it), then
# ships the finished model in models/metal/symbol-world-target. Stop it at any time; rerun to resume bit for bit.
#
#   tools/metal_pretrain.sh [STEPS]      (default 8000; a resumed run keeps the step count it began with)
set -euo pipefail
. "$(dirname "$0")/build_copy.sh" metal-pretrain
out=checkpoints/metal/target
softprompt experiment metal --pretrain-only --out "$out" --steps "${1:-8000}"
if [ -f "$out/model/model.safetensors" ]; then
  mkdir -p models/metal/symbol-world-target
  cp "$out/model/"* "$out/pretrain_log.jsonl" "$out/curves.svg" models/metal/symbol-world-target/
  echo "shipped in models/metal/symbol-world-target"
fi
