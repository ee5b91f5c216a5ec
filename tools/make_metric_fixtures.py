#!/usr/bin/python3
"""Reference values for SoftPrompt.Tuning.Metrics, written to tests/fixtures/tuning/metrics.json.

Run with Debian's python3 and its packages (apt-get install python3-nltk python3-sklearn):
    /usr/bin/python3 tools/make_metric_fixtures.py
- macro-F1: sklearn.metrics.f1_score(average="macro", labels=L, zero_division=0), L = the gold label set
  and, separately, sklearn's own default (no labels=), which averages over gold ∪ predicted.
- BLEU: nltk.translate.bleu_score.corpus_bleu, default weights, no smoothing, tokens = str.split().
- SQuAD exact match / F1: the functions of the official SQuAD v2.0 evaluation script, copied below verbatim
  (normalize_answer, get_tokens, compute_exact, compute_f1); no package ships them.
ROUGE-L has no Debian package (rouge_score is pip-only), so its tests use hand-computed cases.
"""
import collections
import json
import os
import random
import re
import string
import warnings

from nltk.translate.bleu_score import corpus_bleu
from sklearn.metrics import f1_score

warnings.filterwarnings("ignore")
rng = random.Random(20261122)


# --- official SQuAD v2.0 evaluate script (evaluate-v2.0.py) ---
def normalize_answer(s):
    def remove_articles(text):
        regex = re.compile(r'\b(a|an|the)\b', re.UNICODE)
        return re.sub(regex, ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()
    return white_space_fix(remove_articles(remove_punc(lower(s))))


def get_tokens(s):
    if not s:
        return []
    return normalize_answer(s).split()


def compute_exact(a_gold, a_pred):
    return int(normalize_answer(a_gold) == normalize_answer(a_pred))


def compute_f1(a_gold, a_pred):
    gold_toks = get_tokens(a_gold)
    pred_toks = get_tokens(a_pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1
# --- end of the official script ---


def f1_cases():
    cases = []
    for k in range(12):
        labels = ["pos", "neg", "neutral", "mixed", "other"][: rng.randint(2, 5)]
        n = rng.randint(1, 30)
        gold = [rng.choice(labels) for _ in range(n)]
        pred_pool = labels[:-1] if k % 3 == 0 else labels + (["stray"] if k % 4 == 1 else [])  # a never-predicted label, a label outside gold
        pred = [g if rng.random() < 0.5 else rng.choice(pred_pool) for g in gold]
        gold_set = sorted(set(gold))
        cases.append({
            "gold": gold, "predicted": pred,
            "macro_f1_gold_labels": f1_score(gold, pred, average="macro", labels=gold_set, zero_division=0),
            "union_labels": sorted(set(gold) | set(pred)),
            "macro_f1_sklearn_default": f1_score(gold, pred, average="macro", zero_division=0),
        })
    return cases


WORDS = "the cat sat on mat a dog ran in park big red small it was very good".split()


def sentence(lo, hi):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def perturb(s):
    toks = s.split()
    out = [t if rng.random() < 0.75 else rng.choice(WORDS) for t in toks]
    if rng.random() < 0.3 and len(out) > 2:
        out = out[:-rng.randint(1, 2)]
    if rng.random() < 0.3:
        out += [rng.choice(WORDS)]
    return " ".join(out)


def bleu_cases():
    cases = []
    for k in range(10):
        hyps, refs = [], []
        for _ in range(rng.randint(1, 6)):
            r = [sentence(5, 14) for _ in range(rng.randint(1, 3))]
            h = perturb(r[0])
            if k % 4 == 3 and rng.random() < 0.5:
                h = " ".join(h.split()[:rng.randint(1, 3)])  # shorter than 4 tokens: NLTK's max(1, ·) denominators
            hyps.append(h)
            refs.append(r)
        cases.append({"hypotheses": hyps, "references": refs,
                      "bleu": corpus_bleu([[x.split() for x in r] for r in refs], [h.split() for h in hyps])})
    # The documented paper example: NLTK's corpus_bleu docstring.
    h1 = "It is a guide to action which ensures that the military always obeys the commands of the party"
    r1 = ["It is a guide to action that ensures that the military will forever heed Party commands",
          "It is the guiding principle which guarantees the military forces always being under the command of the Party",
          "It is the practical guide for the army always to heed the directions of the party"]
    h2 = "he read the book because he was interested in world history"
    r2 = ["he was interested in world history because he read the book"]
    cases.append({"hypotheses": [h1, h2], "references": [r1, r2],
                  "bleu": corpus_bleu([[x.split() for x in r1], [x.split() for x in r2]], [h1.split(), h2.split()])})
    return cases


def squad_cases():
    pairs = [
        ("The Eiffel Tower", "eiffel tower"), ("an apple a day", "Apple day!"), ("Denver Broncos", "Broncos"),
        ("", ""), ("the", ""), ("1,000 people", "1000 people"), ("Saint-Étienne", "saint étienne"),
        ("  multiple   spaces\there ", "multiple spaces here"), ("cat cat dog", "cat dog dog"),
        ("Theatre of the absurd", "theatre absurd"), ("A.B.C.", "abc"), ("x y z", "a b c"),
    ]
    for _ in range(10):
        g = sentence(1, 6)
        pairs.append((perturb(g).capitalize() + rng.choice(["", ".", "!", ","]), g))
    return [{"predicted": p, "gold": g, "exact": compute_exact(g, p), "f1": compute_f1(g, p)} for p, g in pairs]


out = {"macro_f1": f1_cases(), "bleu": bleu_cases(), "squad": squad_cases()}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "tuning", "metrics.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
    f.write("\n")
print("wrote", os.path.normpath(path))
