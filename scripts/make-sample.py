#!/usr/bin/env python3
"""Builds sample/, the small mixed corpus bundled with sparkgpt, from ../shared/corpus (see sample/README.md).

Deterministic: the same shared corpus gives byte-identical files. Plants what the clean job should catch:
an exact duplicate, near-duplicates, personal data, a malformed JSON line and a line of invalid UTF-8.
"""
import gzip, json, random, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared" / "corpus"
out = root / "sample"
out.mkdir(exist_ok=True)
rnd = random.Random(20261128)

# Shakespeare (public domain): the first 400 kB, one document per file.
shakespeare = (corpus / "prose_en/tinyshakespeare.txt").read_text(encoding="utf-8")
(out / "shakespeare.txt").write_text(shakespeare[:400_000].rsplit("\n\n", 1)[0] + "\n", encoding="utf-8")

# Tang poems (classical Chinese, public domain texts): one document per file.
tang = (corpus / "zh/fortunes-zh-tang300.txt").read_text(encoding="utf-8")
(out / "tang300.txt").write_text(tang, encoding="utf-8")

# WikiText paragraphs as JSONL, with planted duplicates, personal data and broken lines.
paras = [l.strip() for l in (corpus / "prose_en/wikitext-2-raw-v1.test.txt").read_text(encoding="utf-8").splitlines()
         if len(l.strip()) > 600 and not l.strip().startswith("=")][:300]
rows = [{"text": p, "source": "wikitext-2-raw-v1/test", "n": i} for i, p in enumerate(paras)]
for i in range(0, 30, 3):  # near-duplicates: about 4% of the words edited
    words = paras[i].split(" ")
    for _ in range(max(1, len(words) // 25)):
        words[rnd.randrange(len(words))] = rnd.choice(words)
    rows.append({"text": " ".join(words), "source": "planted-near-duplicate", "n": i})
rows.append({"text": paras[5], "source": "planted-exact-duplicate", "n": 5})
pii = ["Contact the editor at jane.doe@example.org or +44 20 7946 0958 for corrections.",
       "The server at 203.0.113.9 is documentation; 8.8.8.8 is not. Call 13812345678.",
       "Card 4111 1111 1111 1111 and ID 11010519491231002X were leaked in the draft."]
for k, sentence in enumerate(pii):
    rows[10 + k]["text"] += " " + sentence
lines = [json.dumps(r, ensure_ascii=False).encode("utf-8") for r in rows]
lines.insert(50, b'{"text": "a line cut short by a crash')
lines.insert(120, b'{"text": "Latin-1 bytes \xe9\xe8 are not UTF-8"}')
(out / "wiki.jsonl").write_bytes(b"\n".join(lines) + b"\n")

# Python standard library files (PSF license) as gzipped JSONL {path, text}.
code = []
for line in (corpus / "code/python3.11-stdlib.jsonl").read_text(encoding="utf-8").splitlines():
    doc = json.loads(line)
    if 2_000 <= len(doc["text"]) <= 20_000:
        code.append(doc)
code = code[:40]
with gzip.GzipFile(out / "code.jsonl.gz", "wb", mtime=0) as f:
    f.write("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in code).encode("utf-8"))
print("sample/:", ", ".join(f"{p.name} {p.stat().st_size:,} B" for p in sorted(out.iterdir())))
