"""Run every benchmark: `python -m benchmarks` (what `make bench` does), or name some.

    .venv/bin/python -m benchmarks                 # all of them, in name order
    .venv/bin/python -m benchmarks list_page       # only these

A benchmark is any module of this package with a top-level `main()` (found by reading the
source, not by importing it); a new one, such as a poller benchmark, is picked up by being
added here. Each runs in a process of its own, because each sets Django up on a throwaway
database of its own, which can be done only once per process.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE.parent


def benchmark_names() -> list[str]:
    """The modules of this package that define a top-level function `main`."""
    names = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body):
            names.append(path.stem)
    return names


def run_one(name: str) -> int:
    """Run `benchmarks.<name>.main()` in a fresh interpreter; returns its exit status."""
    command = [sys.executable, "-c", f"import benchmarks.{name} as benchmark; benchmark.main()"]
    return subprocess.run(command, cwd=PROJECT_ROOT, check=False).returncode  # noqa: S603


def main(argv: list[str] | None = None) -> int:
    available = benchmark_names()
    chosen = list(sys.argv[1:] if argv is None else argv) or available
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        print(f"No such benchmark: {', '.join(unknown)}. There are: {', '.join(available)}.")
        return 2
    failed = []
    for name in chosen:
        print(f"=== benchmarks.{name} ===", flush=True)
        started = time.perf_counter()
        status = run_one(name)
        print(
            f"--- {name}: {'ok' if status == 0 else f'FAILED (exit {status})'}, "
            f"{time.perf_counter() - started:.1f} s\n",
            flush=True,
        )
        if status != 0:
            failed.append(name)
    if failed:
        print(f"Failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
