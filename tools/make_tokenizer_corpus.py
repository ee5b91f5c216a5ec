#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizers/corpus.jsonl: the lines the tokenizer tests compare with Hugging Face.

One JSON string per line, so that \\r, NUL-free control characters and odd whitespace survive. No line
contains \\n (each is one input line). Deterministic (seeded). English prose comes from Debian's
fortunes, dict-gcide and wordnet-base (installed with apt-get when missing); the rest is generated:
code, numbers, whitespace runs, emoji (ZWJ, flags, skin tones), CJK (with astral ext. B), accents and
combining marks (composed and decomposed), right-to-left scripts, and special-token strings.

Usage: python3 tools/make_tokenizer_corpus.py
"""
import glob
import gzip
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "tokenizers", "corpus.jsonl")
rng = random.Random(20261122)


def ensure_packages():
    need = {"fortunes": "/usr/share/games/fortunes/fortunes", "dict-gcide": "/usr/share/dictd/gcide.dict.dz",
            "wordnet-base": "/usr/share/wordnet/data.noun"}
    missing = [p for p, f in need.items() if not os.path.exists(f)]
    if missing:
        print(f"installing {' '.join(missing)} with apt-get", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *missing], check=True)


def fortunes(n):
    lines = []
    for path in sorted(glob.glob("/usr/share/games/fortunes/*")):
        if path.endswith((".dat", ".u8")) or os.path.isdir(path) or os.path.islink(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for block in f.read().split("\n%\n"):
                text = " ".join(block.split("\n")).strip()
                if 20 < len(text) < 400:
                    lines.append(text)
                # and some raw lines with their indentation
                for raw in block.split("\n"):
                    if raw.startswith((" ", "\t")) and len(raw) > 10:
                        lines.append(raw)
    return rng.sample(lines, n)


def gcide(n):
    with gzip.open("/usr/share/dictd/gcide.dict.dz", "rt", encoding="utf-8", errors="replace") as f:
        data = f.read(8_000_000)
    lines = [l.rstrip("\n") for l in data.split("\n") if len(l.strip()) > 15]
    return rng.sample(lines, n)


def wordnet(n):
    glosses = []
    for part in ("noun", "verb", "adj", "adv"):
        with open(f"/usr/share/wordnet/data.{part}", encoding="utf-8", errors="replace") as f:
            for line in f:
                if "|" in line and not line.startswith("  "):
                    glosses.append(line.split("|", 1)[1].strip())
    return rng.sample(glosses, n)


def code(n):
    lines = []
    for path in sorted(glob.glob("/usr/lib/python3*/json/*.py") + glob.glob("/usr/lib/python3*/textwrap.py")
                       + glob.glob("/usr/include/stdio.h") + glob.glob("/usr/share/doc/*/examples/*.sh")):
        try:
            with open(path, encoding="utf-8") as f:
                lines += [l.rstrip("\n") for l in f if l.strip()]
        except (OSError, UnicodeDecodeError):
            pass
    extra = [
        "for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }",
        "def f(x):\treturn x**2 + 3*x - 1  # quadratic",
        "const re = /^[a-z0-9_.+-]+@[a-z0-9-]+\\.[a-z]{2,}$/i;",
        "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;",
        "<div class=\"row\"><span id='x'>Hello &amp; goodbye</span></div>",
        "{\"key\": [1, 2.5, -3e10, null, true], \"nested\": {\"a\": \"b\"}}",
        "if __name__ == \"__main__\":    main()",
        "std::vector<std::pair<int, std::string>> v{{1, \"one\"}, {2, \"two\"}};",
        "x = lambda a, b: (a ** b) // 7 % 3 != 0 and not a is None",
        "    return self._cache.get(key) or self._compute(key)  ",
        "fn main() { let v: Vec<u8> = (0..=255).collect(); println!(\"{:?}\", v); }",
        "git commit -m 'fix: handle CRLF line endings' && git push origin HEAD:refs/for/main",
        "C:\\Users\\me\\Documents\\file (1).txt",
        "https://example.com/path/to/page?query=a%20b&x=1#frag",
        "$ echo $((2#1010 + 0x1F)) | tee -a /tmp/out.log",
    ]
    return rng.sample(lines, min(n - len(extra), len(lines))) + extra


def numbers(n):
    out = []
    for _ in range(n):
        k = rng.randrange(8)
        if k == 0: out.append(str(rng.randrange(10 ** rng.randrange(1, 30))))
        elif k == 1: out.append(f"{rng.uniform(-1e6, 1e6):.{rng.randrange(0, 9)}f}")
        elif k == 2: out.append(f"{rng.randrange(1900, 2100)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z")
        elif k == 3: out.append(f"+1 ({rng.randrange(200, 999)}) {rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}")
        elif k == 4: out.append(" ".join(str(rng.randrange(1000)) for _ in range(rng.randrange(2, 12))))
        elif k == 5: out.append(f"The {rng.randrange(1, 99)}th item costs ${rng.randrange(1, 9999)}.{rng.randrange(100):02d} (≈€{rng.randrange(1, 9999)}), {rng.randrange(100)}% off!")
        elif k == 6: out.append("".join(rng.choice("0123456789٠١٢٣٤٥٦٧٨٩०१२३४५६७८९①②③½¾²³")  for _ in range(rng.randrange(1, 20))))
        else: out.append(f"1,234,567.89 vs 1.234.567,89 vs 1 234 567 vs 0x{rng.randrange(2**32):08X} vs 1e-{rng.randrange(1, 300)}")
    return out


SPACES = [" ", "  ", "   ", "    ", "\t", "\t\t", " \t ", "\r", " \r", "\r ", "\u00a0", "\u2003", "\u3000", "\u200b", "\x0b", "\x0c",
          "\x85", "\u2028", "\u2029", "\u202f", "\u205f", "\u1680", " " * 17, "\t" * 9]


def whitespace(n, words):
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randrange(1, 10)):
            parts.append(rng.choice(SPACES))
            parts.append(rng.choice(words))
        if rng.random() < 0.5:
            parts.append(rng.choice(SPACES))
        out.append("".join(parts))
    out += [" " * 300, "\t" * 120 + "x", "a" + " " * 200 + "b", "x" * 3000, " " + "ab " * 500, "\r" * 40 + "end"]
    return out


EMOJI = ["😀", "😂", "🥲", "👍", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "🇯🇵", "❤️", "✨", "🔥", "🤖", "🧑🏿‍🚀", "🫠", "☕", "⌚", "🀄", "🅰️", "#️⃣", "1️⃣", "👁️‍🗨️", "🐈‍⬛"]


def emoji(n, words):
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randrange(1, 8)):
            parts.append(rng.choice(EMOJI) * rng.randrange(1, 3))
            if rng.random() < 0.6:
                parts.append(rng.choice(["", " ", "  "]) + rng.choice(words))
        out.append(rng.choice(["", " "]).join(parts))
    return out


CJK = ["我爱自然语言处理。", "今天天气很好，我们去公园散步吧！", "東京は日本の首都です。", "ひらがなとカタカナと漢字", "한국어 문장도 있습니다.",
       "机器学习（ML）是人工智能的一个分支。", "𠀀𠀁𠀂𪚥𩸽 are astral ideographs", "「引用」と『二重引用』", "中文English混合123测试",
       "ｆｕｌｌｗｉｄｔｈ　ＡＢＣ　１２３", "ﾊﾝｶｸｶﾀｶﾅ", "繁體中文與简体中文", "㈱㍻㌔", "ㄅㄆㄇㄈ注音"]
ACCENTS = ["café naïve résumé", "cafe\u0301 nai\u0308ve re\u0301sume\u0301", "Ångström Œuvre ÆSIR", "A\u030A ngstro\u0308m",
           "Tiếng Việt có dấu: Hà Nội, Thành phố Hồ Chí Minh", "Tie\u0302\u0301ng Vie\u0323\u0302t", "ǅemal Ǆ ǆ ﬁnal ﬂow ﬀ",
           "Zürich, São Paulo, Kraków, Reykjavík, Øresund", "z̴̢̛a̵l̶g̸o̷ ̶t̵e̴x̷t̶", "ΣΊΣΥΦΟΣ σοφός ΟΔΟΣ", "İstanbul ıi",
           "straße STRASSE ß ẞ", "ﬃ ﬄ ㎏ ㎞ ℃ ℉ Ⅻ ⅻ", "e\u0301\u0327 e\u0327\u0301 q\u0307\u0323 q\u0323\u0307", "한글 \u1112\u1161\u11ab\u1100\u1173\u11af"]
RTL = ["مرحبا بالعالم", "שלום עולם", "العربية: ١٢٣ كتاب", "עברית עם ניקוד: שָׁלוֹם", "mixed עברית and English", "\u202bembedded\u202c \u200fRLM\u200e",
       "فارسی: سلام دنیا", "اردو زبان"]
SPECIAL = ["<|endoftext|>", "<s>", "</s>", "<unk>", "<pad>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>",
           "<|end_header_id|>", "<|im_start|>", "<|im_end|>", "[CLS]", "[SEP]", "[MASK]", "<|reserved_special_token_5|>", "<|fim_prefix|>"]


def mixed(n, words, pool):
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randrange(1, 8)):
            parts.append(rng.choice(pool))
            if rng.random() < 0.5:
                parts.append(rng.choice(["", " ", "  ", "\t"]) + rng.choice(words))
        out.append(rng.choice(["", " "]).join(parts))
    return out


def specials(n, words):
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randrange(1, 6)):
            parts.append(rng.choice(SPECIAL))
            parts.append(rng.choice(["", " ", "  "]) + " ".join(rng.choice(words) for _ in range(rng.randrange(0, 4))) + rng.choice(["", " "]))
        out.append("".join(parts))
    out += ["<|im_start|>user\rHello!<|im_end|>", "<s>[INST] hi [/INST]</s>", "<|endoftext|><|endoftext|>", "<|endoftext", "endoftext|>",
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\r\rYou are helpful.<|eot_id|>", "< s>", "<s >", "<<s>>", "</s></s>"]
    return out


def soup(n):
    blocks = [(0x20, 0x7E), (0xA0, 0x17F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x5FF), (0x600, 0x6FF), (0x900, 0x97F),
              (0xE00, 0xE7F), (0x1100, 0x11FF), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2190, 0x21FF), (0x2200, 0x22FF),
              (0x2500, 0x257F), (0x3000, 0x303F), (0x3040, 0x30FF), (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0xFF00, 0xFFEF),
              (0x1D400, 0x1D4FF), (0x1F300, 0x1F64F), (0x1F900, 0x1F9FF), (0x20000, 0x200FF), (0x10400, 0x1044F)]
    out = []
    for _ in range(n):
        s = []
        for _ in range(rng.randrange(1, 40)):
            lo, hi = rng.choice(blocks)
            c = rng.randrange(lo, hi + 1)
            if 0xD800 <= c <= 0xDFFF or c in (0x0A, 0x2028, 0x2029):
                continue
            s.append(chr(c))
        out.append("".join(s))
    return out


def contractions():
    return ["I'm here, you're there, we've been, they'll go, he'd say, it's, don't", "I'M HERE, YOU'RE THERE, WE'VE BEEN, THEY'LL, HE'D, IT'S, DON'T",
            "We'Ll SeE, yoU'Re, I'D, she'S", "'s 't 're 've 'm 'll 'd", " 's 'x '' ''' 'S 'ſ 'ſt", "rock 'n' roll, ’tis the season, o’clock",
            "He said 'hello' and 'goodbye'", "Dogs' tails, James's book, the '90s"]


def main():
    ensure_packages()
    prose = fortunes(700) + gcide(450) + wordnet(250)
    words = [w for line in prose for w in line.split() if w.isalpha()][:5000]
    lines = (prose + code(220, ) + numbers(120) + whitespace(160, words) + emoji(110, words) + mixed(100, words, CJK) + mixed(100, words, ACCENTS)
             + mixed(50, words, RTL) + specials(120, words) + soup(120) + contractions() + ["", " ", "a", "\t", "\r", "\u00a0"])
    lines = [l.replace("\n", " ") for l in lines]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        for l in lines:
            f.write(json.dumps(l, ensure_ascii=False) + "\n")
    print(f"wrote {OUT}: {len(lines)} lines, {os.path.getsize(OUT)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
