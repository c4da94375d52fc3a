"""Classification throughput on one core: how many complaint texts per second ``core.rules``
classifies with the seed plan's cue tables (SPEC §4.2; the bar is 2,000/s).

Run from the repository root:

    .venv/bin/python bench/bench_classify.py [--texts 5000] [--rounds 3]

It prints figures; it asserts nothing. The texts are the labelled complaints (dev set when
present, the unit tests' held-out and blind sets) plus variations of them: fragments glued
together, full-width and traditional forms, greetings and chit-chat, English, and a few long
messages, so that short and long, Chinese and English, negated and plain texts are all in the
mix.

Rates are per second of this process's CPU time (``time.process_time``): that is what "per
core" means, and on a shared machine wall-clock time mostly measures the other jobs. The
wall-clock rate is printed as well; when it is far below the CPU rate, the machine was busy.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.rules import Classifier  # noqa: E402  (the path is set up just above)

PLAN_FILE = REPO / "plans" / "zhuhui-2014.toml"
DATA = REPO / "tests" / "unit" / "data"
LABELLED = (
    REPO.parent / "shared" / "data" / "complaints_dev.jsonl",
    DATA / "complaints_heldout.jsonl",
    DATA / "complaints_blind_1.jsonl",
    DATA / "complaints_blind_2.jsonl",
)
EXTRA = [
    "你好",
    "在吗",
    "谢谢",
    "测试",
    "好的",
    "ok",
    "请问社保卡怎么补办？",
    "What time is it?",
    "工作人员态度很好，没有收红包",
    "他们没有推诿，也没有拖延",
    "門難進、臉難看、事難辦",
    "ＲＵＤＥ ｏｆｆｉｃｅｒ ａｔ ｔｈｅ ｃｏｕｎｔｅｒ",
]


def load_classifier() -> Classifier:
    raw = tomllib.loads(PLAN_FILE.read_text(encoding="utf-8"))
    settings = raw.get("classifier", {})
    return Classifier.from_cues(
        {area["id"]: area.get("cues", {}) for area in raw["areas"]},
        raw.get("out_of_scope", {}).get("cues", {}),
        threshold=settings.get("threshold", 0.5),
        min_margin=settings.get("min_margin", 0.0),
        groups=settings.get("groups", {}),
    )


def corpus(size: int, seed: int = 2014) -> list[str]:
    base: list[str] = list(EXTRA)
    for path in LABELLED:
        if path.exists():
            with path.open(encoding="utf-8") as f:
                base.extend(json.loads(line)["text"] for line in f if line.strip())
    rng = random.Random(seed)
    texts = list(base)
    while len(texts) < size:
        kind = rng.random()
        if kind < 0.4:  # two complaints glued, as people ramble
            texts.append(rng.choice(base) + rng.choice(base))
        elif kind < 0.6:  # a fragment
            text = rng.choice(base)
            cut = rng.randrange(1, max(2, len(text)))
            texts.append(text[:cut])
        elif kind < 0.7:  # full-width
            texts.append(rng.choice(base).translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}))
        elif kind < 0.95:  # a complaint with a greeting and thanks around it
            texts.append("您好，" + rng.choice(base) + "请尽快处理，谢谢！")
        else:  # a long message (a few hundred to a few thousand characters)
            texts.append("".join(rng.choice(base) for _ in range(rng.randrange(5, 60))))
    rng.shuffle(texts)
    return texts[:size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    classifier = load_classifier()
    built = time.perf_counter() - started
    started = time.perf_counter()
    classifier.warm_up()
    warmed = time.perf_counter() - started

    texts = corpus(args.texts)
    chars = sum(len(t) for t in texts)
    print(f"plan: {PLAN_FILE.relative_to(REPO)}  cues: {classifier.cue_count}")
    print(f"build classifier: {built * 1000:.0f} ms   load jieba dictionary: {warmed * 1000:.0f} ms")
    longest = max(map(len, texts))
    print(f"texts: {len(texts)}  mean length: {chars / len(texts):.0f} chars  longest: {longest}")

    # The first pass meets every negation window for the first time (jieba segments it, then
    # the window is cached, as in a running bot); later passes show the steady state.
    started = time.process_time()
    for text in texts:
        classifier.classify(text)
    first = len(texts) / (time.process_time() - started)

    rates: list[float] = []
    wall: list[float] = []
    per_text: list[float] = []
    for _ in range(args.rounds):
        started, started_wall = time.process_time(), time.perf_counter()
        for text in texts:
            classifier.classify(text)
        rates.append(len(texts) / (time.process_time() - started))
        wall.append(len(texts) / (time.perf_counter() - started_wall))
    by_length: dict[str, list[float]] = {"≤300 chars": [], ">300 chars": []}
    for text in texts:
        t0 = time.perf_counter()
        classifier.classify(text)
        spent = (time.perf_counter() - t0) * 1e6
        per_text.append(spent)
        by_length["≤300 chars" if len(text) <= 300 else ">300 chars"].append(spent)
    per_text.sort()
    print(f"classifications/s, first pass (cold caches): {first:,.0f}")
    print(
        f"classifications/s: {statistics.median(rates):,.0f} (median of {args.rounds} rounds, CPU "
        f"time; min {min(rates):,.0f}, max {max(rates):,.0f})"
    )
    print(f"classifications/s by the wall clock: {statistics.median(wall):,.0f} (median)")
    print(
        f"per text: median {per_text[len(per_text) // 2]:.0f} µs, "
        f"p99 {per_text[int(len(per_text) * 0.99)]:.0f} µs, max {per_text[-1]:.0f} µs"
    )
    for name, times in by_length.items():
        if times:
            print(
                f"  {name}: {len(times)} texts, {len(times) / sum(times) * 1e6:,.0f}/s, "
                f"mean {statistics.fmean(times):.0f} µs"
            )


if __name__ == "__main__":
    main()
