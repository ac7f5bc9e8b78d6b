"""Speed targets as ratios to `python -c "import sympy"` on the same machine (medians of 5 alternating runs).

    python benchmarks/bench.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BASELINE = [sys.executable, "-c", "import sympy"]
CASES = {
    "derive show softmax-cross-entropy --format latex": (
        [sys.executable, "-m", "derive", "show", "softmax-cross-entropy", "--format", "latex"], 2.0),
    "derive show linear-softmax-cross-entropy": (
        [sys.executable, "-m", "derive", "show", "linear-softmax-cross-entropy"], 2.0),
    "derive show linear-softmax-cross-entropy --method differentials": (
        [sys.executable, "-m", "derive", "show", "linear-softmax-cross-entropy", "--method", "differentials"], 2.5),
    "derive show sigmoid-binary-cross-entropy": (
        [sys.executable, "-m", "derive", "show", "sigmoid-binary-cross-entropy"], 2.0),
    "derive show softmax-cross-entropy-hessian": (
        [sys.executable, "-m", "derive", "show", "softmax-cross-entropy-hessian"], 2.0),
    "derive show log-sum-exp": ([sys.executable, "-m", "derive", "show", "log-sum-exp"], 2.0),
    "derive show softmax-temperature-cross-entropy": (
        [sys.executable, "-m", "derive", "show", "softmax-temperature-cross-entropy"], 2.0),
    "derive show label-smoothing-cross-entropy": (
        [sys.executable, "-m", "derive", "show", "label-smoothing-cross-entropy"], 2.0),
    "derive show multiclass-hinge": ([sys.executable, "-m", "derive", "show", "multiclass-hinge"], 2.0),
    "derive show two-layer-network": ([sys.executable, "-m", "derive", "show", "two-layer-network"], 2.5),
    "derive --help": ([sys.executable, "-m", "derive", "--help"], 0.35),
    "derive check (17 steps)": (
        [sys.executable, "-m", "derive", "check", str(HERE / "derivation_17_steps.md")], 2.5),
    "derive embed (30 directives)": (
        [sys.executable, "-m", "derive", "embed", str(HERE / "notes_30_directives.md")], 3.0),
}


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(rounds: int = 5) -> int:
    timed(BASELINE)  # warm the file cache
    samples: dict[str, list[float]] = {"baseline": [], **{name: [] for name in CASES}}
    for _ in range(rounds):
        for name, (command, _) in CASES.items():
            samples["baseline"].append(timed(BASELINE))
            samples[name].append(timed(command))
    base = statistics.median(samples["baseline"])
    print(f"python -c 'import sympy': {base:.3f} s (median of {len(samples['baseline'])})")
    failed = 0
    for name, (_, target) in CASES.items():
        ratio = statistics.median(samples[name]) / base
        ok = ratio <= target
        failed += not ok
        print(f"{name}: {statistics.median(samples[name]):.3f} s, ratio {ratio:.2f} (target <= {target}) "
              f"{'ok' if ok else 'OVER'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
