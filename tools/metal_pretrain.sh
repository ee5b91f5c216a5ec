#!/usr/bin/env bash
# Pretrains, or continues, MetaL-Prompt's target LM in the symbol world (src/SoftPrompt.Experiments/MetaL) into
# checkpoints/metal/target (tracked by git while it runs, so a later session on a new machine continues it), then
# ships the finished model in models/metal/symbol-world-target. Stop it at any time; rerun to resume bit for bit.
#
#   tools/metal_pretrain.sh [STEPS]      (default 8000; a resumed run keeps the step count it began with)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dotnet build -c Release src/SoftPrompt.Cli -v q -nologo > /dev/null
# A copy of the build runs it, so that rebuilding the checkout meanwhile cannot pull files from under it.
bin=$(mktemp -d /tmp/softprompt-metal-pretrain.XXXXXX)
cp -r src/SoftPrompt.Cli/bin/Release/net10.0/. "$bin"
trap 'rm -rf "$bin"' EXIT
out=checkpoints/metal/target
dotnet "$bin/softprompt.dll" experiment metal --pretrain-only --out "$out" --steps "${1:-8000}"
if [ -f "$out/model/model.safetensors" ]; then
  mkdir -p models/metal/symbol-world-target
  cp "$out/model/"* "$out/pretrain_log.jsonl" "$out/curves.svg" models/metal/symbol-world-target/
  echo "shipped in models/metal/symbol-world-target"
fi
