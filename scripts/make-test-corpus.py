#!/usr/bin/env python3
"""Builds testdata/corpus/, the test suite's corpus, from ../shared/corpus (or the folder given as argument).

The same layout and file names as the shared development corpus, each file cut to a prefix (whole lines, whole
paragraphs or whole JSONL records), so the tests read real text from the repository alone (about 2.5 MB). The
Shakespeare prefix and the Tang poems are byte-identical to sample/'s copies (git stores them once).
Deterministic: the same shared corpus gives byte-identical files. Run the suite on the full shared corpus with
`mvn test -Dsparkgpt.corpus=/path/to/shared/corpus`.
"""
import json, shutil, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared" / "corpus"
out = root / "testdata" / "corpus"


def write(rel, data: bytes):
    p = out / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


def prefix_lines(rel, max_bytes):
    """Whole lines (line ends kept as they are: the WikiText raw file has CRLF) up to max_bytes."""
    data = (corpus / rel).read_bytes()
    cut = data.rfind(b"\n", 0, max_bytes) + 1
    write(rel, data[:cut])


def prefix_paragraphs(rel, max_bytes):
    data = (corpus / rel).read_bytes()
    cut = data.rfind(b"\n\n", 0, max_bytes)
    write(rel, data[:cut] + b"\n")


def first_records(rel, n):
    lines = (corpus / rel).read_bytes().splitlines(keepends=True)
    write(rel, b"".join(lines[:n]))


shutil.rmtree(out, ignore_errors=True)
write("prose_en/tinyshakespeare.txt", (root / "sample" / "shakespeare.txt").read_bytes())
write("zh/fortunes-zh-tang300.txt", (root / "sample" / "tang300.txt").read_bytes())
prefix_lines("prose_en/wikitext-2-raw-v1.test.txt", 300_000)
prefix_lines("prose_en/wikitext-2-v1.valid.tokens.txt", 100_000)
prefix_paragraphs("zh/debian-reference-zh-cn.txt", 250_000)
write("zh/fortunes-zh-song100.txt", (corpus / "zh/fortunes-zh-song100.txt").read_bytes())
write("sft/alpaca_seed_tasks.jsonl", (corpus / "sft/alpaca_seed_tasks.jsonl").read_bytes())
first_records("sft/gsm8k_test.jsonl", 150)
first_records("sft/belle_eval_set_zh.jsonl", 80)
first_records("sft/belle_zh_seed_tasks.jsonl", 100)
first_records("preference/hh_rlhf_harmless_base_test.jsonl", 1200)

# Python modules: in the shared file's (sorted path) order, those up to 30,000 characters, about 800 kB.
kept, size = [], 0
for line in (corpus / "code/python3.11-stdlib.jsonl").read_bytes().splitlines(keepends=True):
    if len(json.loads(line)["text"]) <= 30_000 and size < 800_000:
        kept.append(line)
        size += len(line)
write("code/python3.11-stdlib.jsonl", b"".join(kept))

# The origin and license rows of the shared corpus's README, for the files kept here.
rows = [l for l in (corpus / "README.md").read_text(encoding="utf-8").splitlines()
        if l.startswith("| `") and any(l.startswith(f"| `{f.relative_to(out)}`") for f in out.rglob("*.*"))]
(out / "README.md").write_text(
    "# Test corpus\n\nPrefixes of the shared development corpus (same layout, file names, origins and licenses),\n"
    "built by `scripts/make-test-corpus.py`. The test suite reads it by default; `mvn test -Dsparkgpt.corpus=DIR`\n"
    "runs it on another copy, such as the full corpus. Sizes below are the full files'; here each is a prefix.\n\n"
    "| file | bytes | lines / docs | origin | license as stated at origin |\n|---|---|---|---|---|\n"
    + "\n".join(rows) + "\n", encoding="utf-8")
total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
print(f"{out}: {total:,} bytes")
