#!/usr/bin/env node
// The Hugging Face side of the tokenizer tests: runs the `tokenizers` library (0.23.2, Rust, via npm;
// installed by tools/fetch_tokenizers.sh) on every line of tests/fixtures/tokenizers/corpus.jsonl and
// writes tests/fixtures/tokenizers/expected/<name>.jsonl.
//
//   node tools/tokenizer_reference.js                 expected ids/decodes for every tokenizer
//   node tools/tokenizer_reference.js --make-fixtures (re)build the small WordPiece and Unigram tokenizers
//   node tools/tokenizer_reference.js --gpt2-json DIR  DIR/tokenizer.json from DIR/vocab.json + merges.txt
//   node tools/tokenizer_reference.js --pretokenizers expected/pretokenizers.jsonl (pre-tokenizers alone)
//   node tools/tokenizer_reference.js --digits        expected/digits.jsonl (the shipped Petrov models' digit tokenizer)
//
// Output, one JSON object per corpus line: {"ids": [...]} plus, only where they differ from the obvious,
// "special" (ids with special tokens, when not prefix + ids + suffix of the file's header),
// "decode" (when not the line itself) and "decode_skip" (skip_special_tokens=true, when not "decode").
// The first line of each file is a header: {"tokenizer", "special_prefix", "special_suffix", "library"}.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const cache = path.join(root, '.cache', 'tokenizers');
const fixtures = path.join(root, 'tests', 'fixtures', 'tokenizers');
let hf;
try { hf = require(path.join(root, '.cache', 'npm', 'node_modules', 'tokenizers')); }
catch (e) { console.error('the tokenizers npm package is missing: run tools/fetch_tokenizers.sh'); process.exit(1); }

// GPT2TokenizerFast from vocab.json + merges.txt: byte-level BPE, no prefix space, <|endoftext|> special.
async function gpt2FromLegacy(dir) {
  const model = await hf.BPE.fromFile(path.join(dir, 'vocab.json'), path.join(dir, 'merges.txt'));
  const t = new hf.Tokenizer(model);
  t.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
  t.setPostProcessor(hf.byteLevelProcessing(true));
  t.addSpecialTokens(['<|endoftext|>']);
  // The node binding has no ByteLevel decoder constructor: set it in the JSON.
  const json = JSON.parse(saveToString(t));
  json.decoder = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return hf.Tokenizer.fromString(JSON.stringify(json));
}

function corpusLines() {
  return fs.readFileSync(path.join(fixtures, 'corpus.jsonl'), 'utf8').split('\n').filter(l => l.length > 0).map(l => JSON.parse(l));
}

// Small tokenizers trained here on the corpus's prose (so that its emoji, CJK and symbols stay unknown),
// then given the special tokens, unknown handling and pipeline pieces the tests should cover.
function makeFixtures() {
  const lines = corpusLines().slice(0, 1400).map(l => l.replace(/\r/g, ' '));
  const tmp = path.join(require('os').tmpdir(), `softprompt-corpus-${process.pid}.txt`);
  fs.writeFileSync(tmp, lines.join('\n'));

  let wp = new hf.Tokenizer(hf.WordPiece.empty());
  wp.setNormalizer(hf.bertNormalizer());
  wp.setPreTokenizer(hf.bertPreTokenizer());
  wp.train([tmp]);
  const w = JSON.parse(saveToString(wp));
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  let next = Math.max(...Object.values(w.model.vocab)) + 1;
  w.added_tokens = specials.map(s => { w.model.vocab[s] = next; return { id: next++, content: s, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }; });
  w.post_processor = { type: 'BertProcessing', sep: ['[SEP]', w.model.vocab['[SEP]']], cls: ['[CLS]', w.model.vocab['[CLS]']] };
  w.decoder = { type: 'WordPiece', prefix: '##', cleanup: true };
  write('wordpiece', w);

  let un = new hf.Tokenizer(hf.Unigram.empty());
  un.setPreTokenizer(hf.metaspacePreTokenizer());
  un.train([tmp]);
  const u = JSON.parse(saveToString(un));
  const vocab = u.model.vocab;
  vocab.push(['<unk>', 0.0], ['</s>', 0.0]);
  for (let b = 0; b < 256; b++) vocab.push([`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 0.0]);
  u.model.unk_id = vocab.length - 258;
  u.model.byte_fallback = true;
  u.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] };
  u.pre_tokenizer = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true };
  u.added_tokens = [
    { id: u.model.unk_id, content: '<unk>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    { id: u.model.unk_id + 1, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
  ];
  u.post_processor = { type: 'TemplateProcessing', single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
    pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
    special_tokens: { '</s>': { id: '</s>', ids: [u.model.unk_id + 1], tokens: ['</s>'] } } };
  u.decoder = { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true }, { type: 'Fuse' }] };
  write('unigram', u);
  fs.unlinkSync(tmp);

  function write(name, json) {
    const dir = path.join(fixtures, name);
    fs.mkdirSync(dir, { recursive: true });
    const text = JSON.stringify(json);
    hf.Tokenizer.fromString(text);   // must load in the reference library
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), text + '\n');
    console.error(`wrote ${dir}/tokenizer.json`);
  }
}

function saveToString(t) {
  const f = path.join(require('os').tmpdir(), `softprompt-tok-${process.pid}.json`);
  t.save(f);
  const s = fs.readFileSync(f, 'utf8');
  fs.unlinkSync(f);
  return s;
}

async function expected(name, t) {
  const lines = corpusLines();
  const empty = await t.encode('', null, { addSpecialTokens: true });
  const emptyIds = empty.getIds();
  // Special tokens around an empty sequence: split them into prefix and suffix by the template's shape.
  const probe = (await t.encode('a', null, { addSpecialTokens: false })).getIds();
  const probeSpecial = (await t.encode('a', null, { addSpecialTokens: true })).getIds();
  let cut = 0;
  while (cut <= probeSpecial.length - probe.length && !probe.every((v, i) => probeSpecial[cut + i] === v)) cut++;
  const prefix = probeSpecial.slice(0, cut), suffix = probeSpecial.slice(cut + probe.length);
  const out = [JSON.stringify({ tokenizer: name, special_prefix: prefix, special_suffix: suffix, library: 'tokenizers@0.23.2 (npm)', empty_special: emptyIds })];
  for (const line of lines) {
    const ids = (await t.encode(line, null, { addSpecialTokens: false })).getIds();
    const special = (await t.encode(line, null, { addSpecialTokens: true })).getIds();
    const rec = { ids };
    const obvious = [...prefix, ...ids, ...suffix];
    if (special.length !== obvious.length || special.some((v, i) => v !== obvious[i])) rec.special = special;
    const decode = await t.decode(ids, false);
    if (decode !== line) rec.decode = decode;
    const skipIds = special;   // skip_special_tokens is checked on the ids with special tokens
    const decodeSkip = await t.decode(skipIds, true);
    if (decodeSkip !== decode) rec.decode_skip = decodeSkip;
    out.push(JSON.stringify(rec));
  }
  const dir = path.join(fixtures, 'expected');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.jsonl`), out.join('\n') + '\n');
  console.error(`wrote expected/${name}.jsonl (${lines.length} lines)`);
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--gpt2-json') {
    const t = await gpt2FromLegacy(args[1]);
    t.save(path.join(args[1], 'tokenizer.json'));
    return;
  }
  if (args[0] === '--make-fixtures') { makeFixtures(); return; }
  if (args[0] === '--pretokenizers') return;   // handled at the end of the file
  if (args[0] === '--digits') { await digits(); return; }
  const fromFile = f => hf.Tokenizer.fromFile(f);
  await expected('gpt2', await gpt2FromLegacy(path.join(cache, 'gpt2')));
  for (const name of ['llama2', 'llama3', 'qwen3']) await expected(name, fromFile(path.join(cache, name, 'tokenizer.json')));
  for (const name of ['wordpiece', 'unigram']) await expected(name, fromFile(path.join(fixtures, name, 'tokenizer.json')));
}

main().catch(e => { console.error(e); process.exit(1); });

// The digit tokenizer.json shipped with models/petrov/* (written by Gpt2Export): {"text", "ids", "decode"} for
// digit strings with and without whitespace, or {"text", "error": true} where the library refuses the text.
async function digits() {
  const t = hf.Tokenizer.fromFile(path.join(root, 'models', 'petrov', 'L1-H1-d96-pad1-ascending', 'tokenizer.json'));
  const texts = ['0123456789', '3 1 4 1 5 9 2 6', '  42\t7\n', '', '000000000000' + '4402715533', '7', '12a4', 'x', '1,2', '٣'];
  let seed = 12345;
  const next = n => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  for (let i = 0; i < 40; i++) {
    let text = '';
    const length = 1 + next(30);
    for (let j = 0; j < length; j++) text += next(6) === 0 ? ' ' : String(next(10));
    texts.push(text);
  }
  const out = [];
  for (const text of texts) {
    try {
      const ids = (await t.encode(text, null, { addSpecialTokens: true })).getIds();
      out.push(JSON.stringify({ text, ids, decode: await t.decode(ids, false) }));
    } catch (e) { out.push(JSON.stringify({ text, error: true })); }
  }
  const file = path.join(fixtures, 'expected', 'digits.jsonl');
  fs.writeFileSync(file, out.join('\n') + '\n');
  console.error(`wrote ${file} (${texts.length} texts)`);
}

// Pre-tokenizers on their own (run with --pretokenizers): the pieces Hugging Face cuts a sample of corpus
// lines into, for configurations the real tokenizers do not use (every Split behavior, invert, Digits,
// Punctuation, Whitespace, Metaspace schemes, ...). Written to expected/pretokenizers.jsonl as
// {"config": {...}, "pieces": [[...], ...]} for the lines corpus[0], corpus[40], corpus[80], ...
async function preTokenizers() {
  const lines = corpusLines().filter((_, i) => i % 40 === 0);
  const configs = [];
  for (const behavior of ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'])
    for (const invert of [false, true]) {
      configs.push({ type: 'Split', pattern: { Regex: '\\s+' }, behavior, invert });
      configs.push({ type: 'Split', pattern: { String: 'e' }, behavior, invert });
    }
  configs.push({ type: 'Split', pattern: { Regex: '[0-9]+|[a-z]{2}' }, behavior: 'Isolated', invert: false });
  configs.push({ type: 'Digits', individual_digits: true }, { type: 'Digits', individual_digits: false });
  for (const behavior of ['Isolated', 'Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous']) configs.push({ type: 'Punctuation', behavior });
  configs.push({ type: 'Whitespace' }, { type: 'WhitespaceSplit' }, { type: 'BertPreTokenizer' }, { type: 'CharDelimiterSplit', delimiter: ' ' });
  for (const prepend_scheme of ['always', 'first', 'never'])
    for (const split of [true, false]) configs.push({ type: 'Metaspace', replacement: '▁', prepend_scheme, split });
  configs.push({ type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true });
  configs.push({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false });
  configs.push({ type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Digits', individual_digits: true }, { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true }] });
  const out = [];
  for (const config of configs) {
    const t = hf.Tokenizer.fromString(JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: config, post_processor: null, decoder: null,
      model: { type: 'WordLevel', vocab: { '<unk>': 0 }, unk_token: '<unk>' } }));
    const pre = t.getPreTokenizer();
    out.push(JSON.stringify({ config, pieces: lines.map(l => pre.preTokenizeString(l).map(p => p[0])) }));
  }
  const file = path.join(fixtures, 'expected', 'pretokenizers.jsonl');
  fs.writeFileSync(file, out.join('\n') + '\n');
  console.error(`wrote ${file} (${configs.length} configurations × ${lines.length} lines)`);
}
if (process.argv[2] === '--pretokenizers') preTokenizers().catch(e => { console.error(e); process.exit(1); });
