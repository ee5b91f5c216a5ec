#!/usr/bin/env bash
# Runs, or continues, MetaL-Prompt's full-scale report (`softprompt experiment metal --scale full`: three seeds, eight
# PGMs a seed, prompts of 14 positions, prompt tuning and P-tuning up to 800 steps; about 1.1 hours a seed on 2 cores) into checkpoints/metal/full.
# The measured rows (report-rows.jsonl) and the PGMs' checkpoints are tracked by git while it runs, so that a later
# session on a new machine continues where this one stopped; the task collection is not (it is rewritten the same).
# Stop it at any time; rerun to go on. When metal-results.md appears the report is done: copy its table into
# docs/metal.md and `git rm -r checkpoints/metal/full`. Its times to make a prompt are wall-clock: do not pause it
# (SIGSTOP) or run other heavy work beside it; a row measured that way is deleted from report-rows.jsonl and measured again.
#
#   nice -n 19 tools/metal_full.sh
set -euo pipefail
. "$(dirname "$0")/build_copy.sh" metal-full
out=checkpoints/metal/full
mkdir -p "$out"
[ -f "$out/.gitignore" ] || printf 'tasks/\nscratch/\n.softprompt.lock\n' > "$out/.gitignore"
softprompt experiment metal --scale full --out "$out"
