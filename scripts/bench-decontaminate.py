#!/usr/bin/env python3
"""Builds the decontamination benchmark's eval sets (10 MB by default) from the shared corpus:

- gsm8k.jsonl and belle-eval.jsonl: the real evaluation sets the shared corpus holds (sft/gsm8k_test.jsonl,
  sft/belle_eval_set_zh.jsonl), one item per question and one per answer. The clean benchmark corpus
  (bench-corpus.py) contains them, so they are true contamination, in English and Chinese.
- heldout.jsonl: the rest of the size, made of the corpus' own paragraphs with their words (or, for Chinese,
  characters) shuffled within each paragraph: text with the corpus' vocabulary and lengths but almost no
  13-gram in common with it, as most of a real benchmark is. It sizes the filter and the probing work.

usage: bench-decontaminate.py SHARED_CORPUS OUT_DIR [--mb 10]
"""
import argparse, json, random
from pathlib import Path

ap = argparse.ArgumentParser()
ap.add_argument("corpus")
ap.add_argument("out")
ap.add_argument("--mb", type=float, default=10)
a = ap.parse_args()
corpus, out = Path(a.corpus), Path(a.out)
out.mkdir(parents=True, exist_ok=True)
rnd = random.Random(7)
written = 0

def write(name, items):
    global written
    with open(out / name, "w", encoding="utf-8") as f:
        for t in items:
            line = json.dumps({"text": t}, ensure_ascii=False) + "\n"
            f.write(line)
            written += len(line.encode("utf-8"))

def items(path, fields):
    for line in (corpus / path).read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        for k in fields:
            if d.get(k, "").strip():
                yield d[k]

write("gsm8k.jsonl", items("sft/gsm8k_test.jsonl", ["prompt", "completion"]))
write("belle-eval.jsonl", items("sft/belle_eval_set_zh.jsonl", ["prompt", "completion"]))

paragraphs = []
for f in ["prose_en/tinyshakespeare.txt", "prose_en/wikitext-2-raw-v1.test.txt", "zh/debian-reference-zh-cn.txt"]:
    paragraphs += [p for p in (corpus / f).read_text(encoding="utf-8").split("\n") if len(p) > 80]

def shuffled(p):
    if sum("\u4e00" <= c <= "\u9fff" for c in p) > len(p) / 3:
        chars = list(p)
        rnd.shuffle(chars)
        return "".join(chars)
    words = p.split()
    rnd.shuffle(words)
    return " ".join(words)

target = a.mb * 1e6
heldout = []
size = written
while size < target:
    t = shuffled(rnd.choice(paragraphs))
    heldout.append(t)
    size += len(json.dumps({"text": t}, ensure_ascii=False).encode("utf-8")) + 1
write("heldout.jsonl", heldout)
print(f"{written / 1e6:.1f} MB of eval sets in {out}")
