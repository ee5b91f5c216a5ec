#!/usr/bin/env node
// The Hugging Face side of `SoftPrompt.Bench tokenize`: encode throughput of the `tokenizers` library
// (0.23.2, Rust, npm; tools/fetch_tokenizers.sh installs it) on one thread.
//
//   RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false node bench/reference/tokenize_throughput.js TOKENIZER_JSON INPUT_TXT [ROUNDS]
//
// The input's lines are encoded with one encodeBatch call (no special tokens): one crossing into Rust
// per round, so the figure is the library's, not node's per-call overhead. A warm-up round first;
// then ROUNDS timed rounds, the best reported. Prints {"seconds", "bytes", "tokens", "lines"} as JSON.
'use strict';
const fs = require('fs');
const path = require('path');

if (process.env.RAYON_NUM_THREADS !== '1' || process.env.TOKENIZERS_PARALLELISM !== 'false') {
  console.error('set RAYON_NUM_THREADS=1 and TOKENIZERS_PARALLELISM=false so that the reference runs on one thread');
  process.exit(2);
}
const hf = require(path.resolve(__dirname, '..', '..', '.cache', 'npm', 'node_modules', 'tokenizers'));
const [tokenizerPath, inputPath, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg || 3);
const tok = hf.Tokenizer.fromFile(tokenizerPath);
const lines = fs.readFileSync(inputPath, 'utf8').split('\n');
if (lines[lines.length - 1] === '') lines.pop();
const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l, 'utf8'), 0);

(async () => {
  const opts = { addSpecialTokens: false };
  let tokens = 0;
  for (const e of await tok.encodeBatch(lines, opts)) tokens += e.getLength();   // warm-up, and the token count
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    await tok.encodeBatch(lines, opts);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.min(best, dt);
  }
  console.log(JSON.stringify({ seconds: best, bytes, tokens, lines: lines.length }));
})().catch(e => { console.error(e); process.exit(1); });
