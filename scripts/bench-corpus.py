#!/usr/bin/env python3
"""Builds the clean benchmark corpus: the shared corpus cut into web-page-sized documents and replicated to
the requested size. Each replica keeps about 8% of documents as exact copies, makes 8% near-duplicates (3% of
words, or 2% of CJK characters, edited) and rewrites the rest heavily (25% of words replaced), so that the
replicas grow the number of distinct documents while dedup has real work. Output: PARTS JSONL files of
equal size under OUT, so that 1x, 2x, 4x document counts are part-0, part-0..1, part-0..3.

usage: bench-corpus.py SHARED_CORPUS OUT [--mb 208] [--parts 4]
"""
import argparse, json, random
from pathlib import Path

ap = argparse.ArgumentParser()
ap.add_argument("corpus")
ap.add_argument("out")
ap.add_argument("--mb", type=float, default=208)
ap.add_argument("--parts", type=int, default=4)
a = ap.parse_args()
corpus, out = Path(a.corpus), Path(a.out)
out.mkdir(parents=True, exist_ok=True)
rnd = random.Random(1)

def chunks(text, size=4000, sep="\n\n"):
    buf = []
    n = 0
    for block in text.split(sep):
        buf.append(block)
        n += len(block)
        if n >= size:
            yield sep.join(buf).strip()
            buf, n = [], 0
    if buf:
        yield sep.join(buf).strip()

base = []
for f in ["prose_en/tinyshakespeare.txt", "zh/debian-reference-zh-cn.txt", "zh/fortunes-zh-tang300.txt",
          "zh/fortunes-zh-song100.txt"]:
    base += [{"text": t, "source": f} for t in chunks((corpus / f).read_text(encoding="utf-8"))]
for f in ["prose_en/wikitext-2-raw-v1.test.txt", "prose_en/wikitext-2-v1.valid.tokens.txt"]:
    base += [{"text": t, "source": f} for t in chunks((corpus / f).read_text(encoding="utf-8"), sep="\n")]
for line in (corpus / "code/python3.11-stdlib.jsonl").read_text(encoding="utf-8").splitlines():
    d = json.loads(line)
    base.append({"text": d["text"], "path": d["path"]})
for f in sorted((corpus / "sft").glob("*.jsonl")) + sorted((corpus / "preference").glob("*.jsonl")):
    for line in f.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        base.append({"text": d["prompt"] + "\n\n" + d.get("completion", d.get("chosen", "")), "source": f.name})
base = [d for d in base if d["text"].strip()]

def cjk(c):
    return "\u4e00" <= c <= "\u9fff"

def edit(text, word_rate, cjk_rate):
    if sum(map(cjk, text[:2000])) > 200:
        chars = list(text)
        pool = [c for c in chars if cjk(c)] or chars
        for i, c in enumerate(chars):
            if cjk(c) and rnd.random() < cjk_rate:
                chars[i] = rnd.choice(pool)
        return "".join(chars)
    words = text.split(" ")
    for i in range(len(words)):
        if rnd.random() < word_rate:
            words[i] = rnd.choice(words)
    return " ".join(words)

target = a.mb * 1e6
part_target = target / a.parts
files = [open(out / f"part-{p}.jsonl", "w", encoding="utf-8") for p in range(a.parts)]
written = [0] * a.parts
replica = 0
while min(written) < part_target:
    for i, d in enumerate(base):
        p = (i + replica) % a.parts
        if written[p] >= part_target:
            continue
        doc = dict(d)
        if replica > 0:
            u = rnd.random()
            if u < 0.08:
                pass
            elif u < 0.16:
                doc["text"] = edit(d["text"], 0.03, 0.02)
            else:
                doc["text"] = edit(d["text"], 0.25, 0.25)
        doc["replica"] = replica
        line = json.dumps(doc, ensure_ascii=False) + "\n"
        files[p].write(line)
        written[p] += len(line.encode("utf-8"))
    replica += 1
for f in files:
    f.close()
print(f"{out}: {a.parts} parts, {sum(written) / 1e6:.1f} MB, {replica} replicas of {len(base)} base documents")
