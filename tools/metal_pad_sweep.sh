#!/usr/bin/env bash
# How many pad positions the prefix PGM needs (docs/metal.md, "The shipped PGM"): meta-trains the shipped recipe at a
# quarter of its updates (2,000 of 8 episodes, the full scale's 2,000 training tasks) with 8, 12, 14 and 16 pads, and
# with 8 pads at LoRA rank 2, then reports each on the full scale's 48 unseen rules and 48 held-out-family tasks.
# About 5 minutes a PGM on one thread (SOFTPROMPT_THREADS=1 leaves the other core free).
#
#   tools/metal_pad_sweep.sh [OUT]      (default checkpoints/metal/pad-sweep; each PGM's row in OUT/NAME-report/)
set -euo pipefail
. "$(dirname "$0")/build_copy.sh" metal-pad-sweep
out=${1:-checkpoints/metal/pad-sweep}
target=models/metal/symbol-world-target
modules=transformer.h.0.attn.c_attn,transformer.h.1.attn.c_attn,transformer.h.2.attn.c_attn,transformer.h.3.attn.c_attn
softprompt experiment metal --scale full --tasks-only --out "$out"
for run in "pads8 8 8 16" "pads12 12 8 16" "pads14 14 8 16" "pads16 16 8 16" "pads8-rank2 8 2 4"; do
  read -r name pads rank alpha <<< "$run"
  softprompt metal train --model "$target" --tasks "$out/tasks" --design prefix --pad-tokens "$pads" --lora-r "$rank" \
    --lora-alpha "$alpha" --target-modules "$modules" --max-steps 2000 --episodes-per-step 8 --eval-every 500 \
    --separator ">" --delimiter "|" --out "$out/$name"
  softprompt experiment metal --scale full --model "$target" --pgm "$out/$name" --out "$out/$name-report"
done
grep -h "MetaL-Prompt, prefix" "$out"/*-report/metal-pgm-results.md
