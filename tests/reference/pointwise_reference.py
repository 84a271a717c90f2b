"""Reference numbers of tests/reference/test_pointwise_on_demand.py.

Run with the checkout to take the numbers from on the path (the REF numbers: commit 6ee33a2,
the last one that stored the pointwise log-likelihood in the fit)::

    PYTHONPATH=<checkout> OPENBLAS_NUM_THREADS=1 python tests/reference/pointwise_reference.py
"""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np

import mmreg


def main() -> None:
    out = {}
    for fam in ["gaussian", "weibull"]:
        df = mmreg.datasets.simulate_coalitions(
            n_groups=60, n_members=60, n_countries=6, family=fam, seed=2
        )
        model = mmreg.MMModel(df.attrs["formula"], df, family=fam)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(method="mcmc", draws=50, tune=20, chains=2, seed=1)
            ll = res.to_inference_data(predictive=False).log_likelihood["y"].values
        out[fam] = {
            "waic": res.waic,
            "loo": res.loo,
            "dic": res.dic,
            "dic_se": res.dic_se,
            "ll_sha": hashlib.sha256(np.ascontiguousarray(ll).tobytes()).hexdigest(),
            "ll_sum": float(ll.sum()),
            "mmreg": mmreg.__file__,
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
