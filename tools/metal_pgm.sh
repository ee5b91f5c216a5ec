#!/usr/bin/env bash
# Meta-trains, or continues, the shipped prompt generation model (models/metal/symbol-world-pgm): the prefix design,
# 14 positions (docs/metal.md: what 8, 12, 14 and 16 gave on the held-out family), LoRA rank 8 on every c_attn, X_L empty, 8,000 updates of 8 episodes over the 2,000 training tasks of
# `experiment metal --scale full` (about 20 minutes on 2 cores), then ships it. Stop it at any time; rerun to resume.
#
#   tools/metal_pgm.sh [OUT]      (default checkpoints/metal/pgm; OUT/tasks is the task collection, OUT/pgm the PGM)
set -euo pipefail
. "$(dirname "$0")/build_copy.sh" metal-pgm
out=${1:-checkpoints/metal/pgm}
target=models/metal/symbol-world-target
softprompt experiment metal --scale full --tasks-only --out "$out"
softprompt metal train --model "$target" --tasks "$out/tasks" --design prefix --pad-tokens 14 --lora-r 8 \
  --target-modules transformer.h.0.attn.c_attn,transformer.h.1.attn.c_attn,transformer.h.2.attn.c_attn,transformer.h.3.attn.c_attn \
  --max-steps 8000 --episodes-per-step 8 --eval-every 1000 --separator ">" --delimiter "|" --out "$out/pgm"
if [ -f "$out/pgm/pgm.safetensors" ] && grep -q '"step":8000,"eval_loss"' "$out/pgm/train_log.jsonl"; then
  mkdir -p models/metal/symbol-world-pgm
  cp "$out/pgm/pgm_config.json" "$out/pgm/pgm.safetensors" "$out/pgm/train_log.jsonl" "$out/pgm/curves.svg" models/metal/symbol-world-pgm/
  echo "shipped in models/metal/symbol-world-pgm"
fi
