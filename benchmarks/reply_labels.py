"""The reply labeller: labels per second, and its accuracy against hand labels.

The corpus is tests/data/reply_labels.jsonl: realistic replies to cold emails in English,
Spanish, French and German, each labelled by hand (one of the ten labels). The benchmark
labels the whole corpus ``--rounds`` times (median rate), then prints accuracy overall, per
language and per label, and every reply the rules get wrong. A hostile reply (a long run of one
phrase's prefix, 1 MB) is timed too: the labeller reads at most MAX_CHARS of it.

    .venv/bin/python benchmarks/reply_labels.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

from _common import machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
CORPUS = ROOT / "tests" / "data" / "reply_labels.jsonl"
#: 40 replies written after the rules, to measure them on text they were not written for.
HELD_OUT = ROOT / "tests" / "data" / "reply_labels_heldout.jsonl"
TODAY = date(2026, 12, 5)


def load(path: Path = CORPUS) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    from leadline.guardian.labels import LABELS, label

    corpus = load()
    label("warm up", today=TODAY)
    rates = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for item in corpus:
            label(item["text"], today=TODAY)
        rates.append(len(corpus) / (time.perf_counter() - started))
    hostile = "out of o" * 131_072 + " not interes" * 10_000
    started = time.perf_counter()
    label(hostile, today=TODAY)
    hostile_ms = (time.perf_counter() - started) * 1000

    right = Counter[str]()
    total = Counter[str]()
    misses = []
    for item in corpus:
        got = label(item["text"], today=TODAY).label
        for key in ("all", item["lang"], item["label"]):
            total[key] += 1
            right[key] += got == item["label"]
        if got != item["label"]:
            misses.append((item["lang"], item["label"], got, item["text"]))
    print(f"machine: {machine()}")
    print(f"corpus: {len(corpus)} replies ({', '.join(f'{k} {total[k]}' for k in ('en', 'es', 'fr', 'de'))})")
    print(f"rate: {statistics.median(rates):,.0f} labels/s (median of {args.rounds} rounds)")
    print(f"hostile 1 MB reply: {hostile_ms:.1f} ms")
    print(f"accuracy: {right['all'] / total['all']:.1%} ({right['all']}/{total['all']})")
    for key in ("en", "es", "fr", "de", *LABELS):
        if total[key]:
            print(f"  {key:<20} {right[key] / total[key]:.0%} ({right[key]}/{total[key]})")
    for lang, want, got, text in misses:
        print(f"miss [{lang}] hand {want}, rules {got}: {text[:100]}")
    held = load(HELD_OUT)
    held_misses = [(i, label(i["text"], today=TODAY).label) for i in held]
    held_misses = [(i, got) for i, got in held_misses if got != i["label"]]
    print(f"held-out accuracy: {1 - len(held_misses) / len(held):.1%} ({len(held) - len(held_misses)}/{len(held)})")
    for item, got in held_misses:
        print(f"held-out miss [{item['lang']}] hand {item['label']}, rules {got}: {item['text'][:100]}")


if __name__ == "__main__":
    main()
