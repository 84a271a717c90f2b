"""gaus_w on coalgov, fit + summary: default BLAS threads against OPENBLAS_NUM_THREADS=1.

Each configuration runs once in a fresh process (build, ``fit()``, ``summary()`` — which
computes the profile intervals of the SDs):

* ``default``: the environment as a user has it (no ``*_NUM_THREADS`` variables);
* ``pinned``: ``OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=1``;
* ``unpinned``: default threads and ``MMREG_BLAS_THREADS=keep``, which switches off
  mmreg's own pinning (:mod:`mmreg._threads`) — the behaviour before issue #13.

    python -m benchmarks.threads

Prints the three times and the ratios default / pinned and unpinned / pinned.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from benchmarks._util import machine, timer

_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MMREG_BLAS_THREADS")


def child(args: list[str]) -> dict:
    """Build, fit and summarise gaus_w once; return the times (run in a fresh process)."""
    import mmreg
    from validation.reference_models import MODELS, load_coalgov

    spec = MODELS["gaus_w"]
    df = load_coalgov()
    with timer() as t_fit:
        model = mmreg.MMModel(spec.formula, df, family=spec.family, **spec.options)
        res = model.fit()
    with timer() as t_sum:
        text = str(res.summary())
    return {
        "fit_s": t_fit(),
        "summary_s": t_sum(),
        "total_s": t_fit() + t_sum(),
        "summary_chars": len(text),
    }


def _run(extra_env: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    env.update(extra_env)
    code = (
        "import json, sys; from benchmarks.threads import child; "
        "print(json.dumps(child(sys.argv[1:])))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["failed"]
        return {"error": tail[0]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    from validation.reference_models import COALGOV

    if not COALGOV.exists():
        print("skipped: ../shared/data/coalgov.csv not found")
        return
    one = "1"
    runs = {
        "default": _run({}),
        "pinned": _run(
            {"OPENBLAS_NUM_THREADS": one, "OMP_NUM_THREADS": one, "MKL_NUM_THREADS": one}
        ),
        "unpinned": _run({"MMREG_BLAS_THREADS": "keep"}),
    }
    print(f"gaus_w on coalgov, build + fit + summary, one run each ({machine()})")
    for name, r in runs.items():
        if "error" in r:
            print(f"  {name:9s} error: {r['error']}")
        else:
            print(
                f"  {name:9s} fit {r['fit_s']:7.2f} s   summary {r['summary_s']:7.2f} s   "
                f"total {r['total_s']:7.2f} s"
            )
    ok = all("error" not in r for r in runs.values())
    if ok:
        pinned = runs["pinned"]["total_s"]
        print(f"  ratio default / pinned:  {runs['default']['total_s'] / pinned:.2f}")
        print(
            f"  ratio unpinned / pinned: {runs['unpinned']['total_s'] / pinned:.2f}"
            "  (mmreg's pinning switched off: the behaviour before #13)"
        )


if __name__ == "__main__":
    main()
