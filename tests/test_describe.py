"""``model.describe()``: blocks, weight functions and their parameters, aggregations, priors."""

from __future__ import annotations

import pytest

import mmreg

pytestmark = pytest.mark.filterwarnings("ignore::mmreg.MMWarning")


@pytest.fixture(scope="module")
def data():
    return mmreg.datasets.simulate_coalitions(n_groups=100, n_members=50, n_countries=8, seed=2)


def test_describe_lists_blocks_weight_parameters_and_priors(data, capsys):
    f = (
        "y ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
        "w = w(~ exp(gamma * pseat), scale = TRUE), RE = TRUE) + hm(id = id(cid), RE = TRUE)"
    )
    model = mmreg.MMModel(f, data, priors=[mmreg.prior("normal(0, 1)", class_="w")])
    text = model.describe()
    assert isinstance(text, str)
    print(text)
    assert capsys.readouterr().out.strip() == text
    lines = text.splitlines()
    assert lines[0] == "mmreg model: family gaussian, 100 groups"
    assert "mm1: mm(id = id(pid, gid)), 50 members, 322 memberships" in lines
    assert "  weights: w ~ exp(gamma * pseat) (scaled to sum to 1)" in lines
    assert "  weight parameters: mm1.w.gamma (free symbols of w(), estimated)" in lines
    assert "  aggregation: sum (weighted sum of the covariates)" in lines
    assert "  member random effects: sigma.mm1" in lines
    assert "  unit random effects: sigma.hm1" in lines
    priors = lines[lines.index("priors:") + 1 :]
    assert [ln.split()[0] for ln in priors] == list(model.priors)
    assert "mm1.w.gamma  ~ normal(0, 1)" in text  # the model's prior, not the default
    assert "sigma.hm1    ~ cauchy(0, 25)   (class sd)" in text


def test_describe_shows_aggregation_and_block_name(data):
    f = (
        "y ~ 1 + mm(id = id(pid, gid), vars = vars(cohesion), "
        'fn = fn("threshold", c = 0.5, kappa = 5), RE = FALSE, name = "coal")'
    )
    text = mmreg.MMModel(f, data).describe()
    assert 'mm1: mm(id = id(pid, gid)), name = "coal"' in text
    assert "aggregation: threshold (cohesion, c = 0.5, kappa = 5.0)" in text
    assert "coefficients: mm1.threshold(cohesion)" in text
    assert "weight parameters: none (fixed weights)" in text
    assert "member random effects: none" in text


def test_describe_weibull_shows_the_derived_sigma(data):
    f = (
        "Surv(dur, event) ~ 1 + majority + mm(id = id(pid, gid), vars = vars(finance), "
        "fn = fn(w ~ exp(b0 + b1 * pseat), c = FALSE), RE = TRUE)"
    )
    text = mmreg.MMModel(f, data, family=mmreg.families.weibull()).describe()
    assert "family weibull" in text
    assert "weight parameters: mm1.w.b0, mm1.w.b1 (estimated)" in text
    assert "shape        ~ exponential(0.001)  (class shape)" in text
    assert text.endswith("derived (no prior): sigma")
