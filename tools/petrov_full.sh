#!/usr/bin/env bash
# Runs, or continues, the full-scale Petrov et al. figures that take more than one session on a 2-core machine, in
# this order: setup3 (pretraining, 40,000 steps; the four 20,000-step prefixes on the pretrained tasks; histogram),
# setup4 (the 100,000-step histogram prefix), composition (setup 3's ascending-then-+1 prefix, the authors' 500,000
# steps, for as long as it is left running). Every stage checkpoints every 1,000 steps into checkpoints/petrov/
# (commit it at most once a session while a run outlasts sessions, so that a later session on a new machine continues
# where this one stopped; it leaves the tree when the run ends); rerun the script and
# each stage resumes bit for bit where it was. Stop it at any time (Ctrl-C, or kill).
#
#   tools/petrov_full.sh [setup3|setup4|composition ...]   (default: all three, in this order)
#   SOFTPROMPT_THREADS=1 tools/petrov_full.sh setup3 & SOFTPROMPT_THREADS=1 tools/petrov_full.sh setup4
#       (two one-thread runs side by side: on 2 cores they do more steps an hour than one two-thread run — on
#       2026-12-01, 0.256 + 0.262 s a step for setup 3's and setup 4's prefixes against 0.145 s alone: 7.7 steps/s vs 6.9)
#   dotnet run -c Release --project src/SoftPrompt.Cli -- experiment petrov --setup 3 --scale full --out checkpoints/petrov/setup3-full --status
#
# The composition (ascending then +1) ends only at the authors' 500,000 steps (about 21 hours here); to put its
# accuracy so far in the report, stop the script and run `... --setup 3 --scale full --phases "then" --stop-at-step N
# --out checkpoints/petrov/setup3-full` with N a little past the last checkpoint.
set -euo pipefail
. "$(dirname "$0")/build_copy.sh" petrov-full   # builds, and runs the stages (hours) from a copy of the build
out=checkpoints/petrov

setup3() {
  softprompt experiment petrov --setup 3 --scale full --pretrain-only --out "$out/setup3-full"
  softprompt experiment petrov --setup 3 --scale full --out "$out/setup3-full" \
    --phases "prefix on ascending,prefix on descending,prefix on add1,prefix on add2,prefix on histogram"
}

composition() {
  softprompt experiment petrov --setup 3 --scale full --pretrain-only --out "$out/setup3-full"
  softprompt experiment petrov --setup 3 --scale full --phases "then" --out "$out/setup3-full"
}

setup4() {
  softprompt experiment petrov --setup 4 --scale full --phases "prefix on histogram" --out "$out/setup4-full"
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(setup3 setup4 composition)
for stage in "${stages[@]}"; do
  case "$stage" in
    setup3) setup3 ;;
    setup4) setup4 ;;
    composition) composition ;;
    *) echo "tools/petrov_full.sh: unknown stage '$stage' (setup3, setup4, composition)" >&2; exit 2 ;;
  esac
done
