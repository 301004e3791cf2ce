"""Scoring speed for 10^4, 10^5, 10^6 random `mic-dbi` responses, against baselines of the same run.

    python benchmarks/bench_scoring.py [--sizes 10000 100000 1000000] [--no-cli]

* engine: ``scoring.score`` on the encoded matrix (validation, NA masks, levels): what the app and
  the CLI call;
* floor: gather each answer's option score from a lookup table + one weighted matrix product to the
  dimension scores: no checks, no "na", no levels; the least work any method needs;
* loop: a per-response Python loop over parsed answers (dicts of option ids), as a quick
  implementation would (measured on at most 10^5 rows and scaled linearly above that);
* cli: ``dxm score`` end to end on a CSV file (parse + score + write), with its peak memory;
* v2: ``scoring.score`` on the format v2 draft ``tools-2025`` (tables, 22-option checklists with an
  exclusive option), per answer cell against mic-dbi's engine: what the new shapes cost.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from questionnaires import loader
from scoring import compile_instrument, score

LOOP_MAX_ROWS = 100_000


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def random_codes(model, n: int, rng: np.random.Generator, na_share: float = 0.1) -> np.ndarray:
    options = np.array([len(o) for o in model.option_ids])
    codes = (rng.random((n, model.n_questions)) * options).astype(np.int32)
    na = (rng.random((n, model.n_questions)) < na_share) & model.allow_na
    return np.where(na, model.na_codes, codes).astype(np.int32)


def random_v2_codes(model, n: int, rng: np.random.Generator, na_share: float = 0.1) -> np.ndarray:
    """Valid format v2 codes: a random option per single-choice column and table row; per
    checklist a random third of its non-exclusive options (at least one), or its exclusive one."""
    codes = np.empty((n, model.n_questions), dtype=np.int64)
    for c in range(model.n_questions):
        k = len(model.option_ids[c])
        if model.multi[c]:
            free = np.array([not (int(model.exclusive_masks[c]) >> i & 1) for i in range(k)])
            bits = (rng.random((n, k)) < 0.33) & free
            bits[~bits.any(axis=1), int(np.flatnonzero(free)[0])] = True
            codes[:, c] = bits.astype(np.int64) @ (np.int64(1) << np.arange(k, dtype=np.int64))
            if model.exclusive_masks[c]:
                codes[rng.random(n) < 0.05, c] = model.exclusive_masks[c] & -model.exclusive_masks[c]
        else:
            codes[:, c] = rng.integers(0, k, n)
        if model.allow_na[c]:
            codes[rng.random(n) < na_share, c] = model.na_codes[c]
    return codes


def floor(codes: np.ndarray, flat_scores: np.ndarray, offsets: np.ndarray, weights: np.ndarray):
    return flat_scores.take(codes + offsets) @ weights


def naive_loop(parsed: list[dict[str, str]], instrument) -> list[float]:
    """What a quick implementation does: dicts and ids, one response at a time."""
    overall = []
    option_score = {q.id: {o.id: o.score for o in q.options} for q in instrument.questions}
    for response in parsed:
        num: dict[str, float] = {}
        den: dict[str, float] = {}
        for q in instrument.questions:
            answer = response[q.id]
            if answer == "na":
                continue
            s = min(max(option_score[q.id][answer], 0.0), 1.0)
            num[q.dimension] = num.get(q.dimension, 0.0) + q.weight * s
            den[q.dimension] = den.get(q.dimension, 0.0) + q.weight
        total = sum(d.weight * 100 * num[d.id] / den[d.id] for d in instrument.dimensions if den.get(d.id))
        weight = sum(d.weight for d in instrument.dimensions if den.get(d.id))
        overall.append(total / weight)
    return overall


def write_csv(path: Path, model, codes: np.ndarray) -> None:
    names = [np.array([*ids, "na"], dtype=object) for ids in model.option_ids]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["respondent", *model.question_ids])
        for start in range(0, len(codes), 50_000):
            block = codes[start : start + 50_000]
            cols = [names[q][np.minimum(block[:, q], len(names[q]) - 1)] for q in range(model.n_questions)]
            ids = np.arange(start, start + len(block)).astype(str)
            writer.writerows(zip(ids, *cols, strict=True))


def run_cli(path: Path) -> tuple[float, float]:
    """Time ``dxm score`` and read its peak memory. A small launcher process starts it, because a
    child's ru_maxrss also counts the pages it shared with this (large) process before exec."""
    launcher = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
                "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", launcher, sys.executable, "-m", "assessment.cli", "score", "mic-dbi", str(path)],
        check=True, capture_output=True, text=True,
    )
    return time.perf_counter() - start, int(done.stdout.strip()) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--no-cli", action="store_true", help="skip the end-to-end CSV run")
    args = ap.parse_args()

    instrument = loader.get("mic-dbi")
    model = compile_instrument(instrument.export())
    rng = np.random.default_rng(2026)
    # the floor's table: option scores without the NA slot, clipped; weights to the dimensions
    flat = np.concatenate([np.clip(s, 0, 1) for s in model.option_scores])
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in model.option_scores])[:-1]])

    print(f"mic-dbi: {model.n_questions} questions, {model.n_dimensions} dimensions; best of 3 runs")
    print(f"{'rows':>9} {'floor':>9} {'engine':>9} {'loop':>10} {'engine/floor':>13} {'loop/engine':>12}")
    for n in args.sizes:
        codes = random_codes(model, n, rng)
        plain = np.minimum(codes, np.array([len(o) for o in model.option_ids]) - 1)
        t_floor = best_of(lambda plain=plain: floor(plain, flat, offsets, model.membership))
        t_engine = best_of(lambda codes=codes: score(codes, model))
        m = min(n, LOOP_MAX_ROWS)
        names = [[*ids, "na"] for ids in model.option_ids]
        parsed = [{qid: names[q][c] for q, (qid, c) in enumerate(zip(model.question_ids, row, strict=True))}
                  for row in codes[:m].tolist()]
        t_loop = best_of(lambda parsed=parsed: naive_loop(parsed, instrument), repeat=1) * n / m
        note = "" if m == n else f"  (loop scaled from {m:,} rows)"
        print(f"{n:>9,} {t_floor:>8.3f}s {t_engine:>8.3f}s {t_loop:>9.2f}s "
              f"{t_engine / t_floor:>12.2f}x {t_loop / t_engine:>11.0f}x{note}")

    n = max(args.sizes)
    draft = loader.load_file(loader.DATA_DIR / "tools-2025" / "1.0.yaml.draft")
    v2 = compile_instrument(draft.export())
    v2_codes = random_v2_codes(v2, n, rng)
    applicable = rng.random(v2_codes.shape) < 0.9  # some rows and questions not asked or unanswered
    mic_codes = random_codes(model, n, rng)
    mic_applicable = rng.random(mic_codes.shape) < 0.9  # the same share, so only the shapes differ
    t_v2 = best_of(lambda: score(v2_codes, v2, applicable=applicable))
    t_mic = best_of(lambda: score(mic_codes, model, applicable=mic_applicable))
    per_cell_v2, per_cell_mic = 1e9 * t_v2 / v2_codes.size, 1e9 * t_mic / mic_codes.size
    print(f"format v2, tools-2025 draft ({v2.n_questions} columns in {v2.n_items} items: "
          f"{int(v2.multi.sum())} checklists, {sum(q.type == 'table' for q in draft.questions)} tables), "
          f"{n:,} rows with a mask: {t_v2:.3f}s, {per_cell_v2:.1f} ns per answer "
          f"against mic-dbi's {per_cell_mic:.1f} ns with a mask too ({per_cell_v2 / per_cell_mic:.2f}x)")

    if not args.no_cli:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "responses.csv"
            write_csv(path, model, random_codes(model, n, rng))
            size_mb = path.stat().st_size / 1e6
            elapsed, peak = run_cli(path)
        print(f"dxm score end to end, {n:,} rows ({size_mb:.0f} MB CSV): {elapsed:.1f}s, "
              f"peak memory {peak:.0f} MiB")


if __name__ == "__main__":
    main()
