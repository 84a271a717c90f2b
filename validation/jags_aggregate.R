# Independent long JAGS runs of three aggregation models of issue #16, written by hand.
#
# Data: tests/reference/data/aggregate_sim.csv (validation/aggregate_reference.py: the
# coalgov membership structure with simulated outcomes).  Models (x = finance, one row per
# membership, governments j with rows st[j]..en[j], no random effects), with mmreg's default
# priors (SPEC §1, §8):
#   agg_var   y_j ~ N(b0 + b1 maj_j + beta * sum_i w_i (x_i - A_j)^2, sigma^2),
#             w_i = exp(g pseat_i) / sum_j exp(g pseat),  A_j = sum_i w_i x_i;  g ~ N(0, 100^2)
#   agg_smax  ... beta * log(mean_i exp(kappa x_i)) / kappa;  kappa ~ N(0, 5^2)
#   agg_thr   ... beta * mean_i ilogit(10 (x_i - c));  c ~ U(min x, max x)
#   agg_int   ... beta * F_j + delta * maj_j * F_j,  F_j = sum_i w_i x_i, w_i as agg_var
#             (a named block with estimated weights in a cross-level interaction)
#   b0, b1, beta, delta ~ N(0, 100^2); sigma ~ half-Cauchy(0, 25).
# Output: tests/reference/data/jags_<model>.csv (mmreg parameter names, posterior mean, SD,
# effective sample size), with a provenance comment.
#
# Run from the repository root:  Rscript validation/jags_aggregate.R [n_iter] [n_chains]

suppressPackageStartupMessages(library(rjags))
args <- commandArgs(trailingOnly = TRUE)
n_iter <- if (length(args) >= 1) as.integer(args[1]) else 20000L
n_chains <- if (length(args) >= 2) as.integer(args[2]) else 4L
n_burn <- 2000L

dat <- read.csv("tests/reference/data/aggregate_sim.csv")
dat <- dat[order(dat$gid, dat$pid), ]
grp <- match(dat$gid, unique(dat$gid))
G <- max(grp)
st <- as.integer(tapply(seq_along(grp), grp, min))
en <- as.integer(tapply(seq_along(grp), grp, max))
first <- st
base <- list(N = nrow(dat), G = G, grp = grp, st = st, en = en,
             n = en - st + 1, x = dat$finance, pseat = dat$pseat,
             maj = dat$majority[first])

common <- "
  for (j in 1:G) {
    mu[j] <- b0 + b1 * maj[j] + beta * F[j]
    y[j] ~ dnorm(mu[j], tau)
  }
  b0 ~ dnorm(0, 1.0E-4)
  b1 ~ dnorm(0, 1.0E-4)
  beta ~ dnorm(0, 1.0E-4)
  sigma ~ dt(0, pow(25, -2), 1) T(0,)
  tau <- pow(sigma, -2)
"

models <- list(
  agg_var = list(y = "y_var", par = c("b0", "b1", "beta", "g", "sigma"),
    names = c("Intercept", "majority", "mm1.var(finance)", "mm1.w.g", "sigma"),
    code = paste0("model {
  for (i in 1:N) { wr[i] <- exp(g * pseat[i]) }
  for (j in 1:G) {
    S[j] <- sum(wr[st[j]:en[j]])
    A[j] <- inprod(wr[st[j]:en[j]], x[st[j]:en[j]]) / S[j]
  }
  for (i in 1:N) { d2[i] <- wr[i] * pow(x[i] - A[grp[i]], 2) }
  for (j in 1:G) { F[j] <- sum(d2[st[j]:en[j]]) / S[j] }
  g ~ dnorm(0, 1.0E-4)", common, "}"),
    init = function(k) list(g = 0.5 * k, beta = 0, b0 = 0, b1 = 0, sigma = 1)),
  agg_smax = list(y = "y_smax", par = c("b0", "b1", "beta", "kappa", "sigma"),
    names = c("Intercept", "majority", "mm1.smax(finance)", "mm1.fn.kappa", "sigma"),
    code = paste0("model {
  for (i in 1:N) { e[i] <- exp(kappa * x[i]) }
  for (j in 1:G) { F[j] <- log(sum(e[st[j]:en[j]]) / n[j]) / kappa }
  kappa ~ dnorm(0, 1 / 25)", common, "}"),
    init = function(k) list(kappa = 0.5 + k, beta = 0, b0 = 0, b1 = 0, sigma = 1)),
  agg_thr = list(y = "y_thr", par = c("b0", "b1", "beta", "c", "sigma"),
    names = c("Intercept", "majority", "mm1.threshold(finance)", "mm1.fn.c", "sigma"),
    code = paste0("model {
  for (i in 1:N) { t[i] <- ilogit(10 * (x[i] - c)) }
  for (j in 1:G) { F[j] <- sum(t[st[j]:en[j]]) / n[j] }
  c ~ dunif(xmin, xmax)", common, "}"),
    init = function(k) list(c = -0.5 + 0.4 * k, beta = 0, b0 = 0, b1 = 0, sigma = 1)),
  agg_int = list(y = "y_int", par = c("b0", "b1", "beta", "delta", "g", "sigma"),
    names = c("Intercept", "majority", "mm1.finance", "majority:coal", "mm1.w.g", "sigma"),
    code = "model {
  for (i in 1:N) { wr[i] <- exp(g * pseat[i]) }
  for (j in 1:G) {
    F[j] <- inprod(wr[st[j]:en[j]], x[st[j]:en[j]]) / sum(wr[st[j]:en[j]])
    mu[j] <- b0 + b1 * maj[j] + beta * F[j] + delta * maj[j] * F[j]
    y[j] ~ dnorm(mu[j], tau)
  }
  g ~ dnorm(0, 1.0E-4)
  b0 ~ dnorm(0, 1.0E-4)
  b1 ~ dnorm(0, 1.0E-4)
  beta ~ dnorm(0, 1.0E-4)
  delta ~ dnorm(0, 1.0E-4)
  sigma ~ dt(0, pow(25, -2), 1) T(0,)
  tau <- pow(sigma, -2)
}",
    init = function(k) list(g = 0.5 * k, beta = 0, delta = 0, b0 = 0, b1 = 0, sigma = 1))
)

which <- if (length(args) >= 3) strsplit(args[3], ",")[[1]] else names(models)
for (name in which) {
  m <- models[[name]]
  data <- c(base, list(y = dat[[m$y]][first], xmin = min(dat$finance),
                       xmax = max(dat$finance)))
  inits <- lapply(seq_len(n_chains), function(k)
    c(m$init(k), list(.RNG.name = "base::Mersenne-Twister", .RNG.seed = 100 + k)))
  t0 <- proc.time()[["elapsed"]]
  jm <- jags.model(textConnection(m$code), data = data, inits = inits,
                   n.chains = n_chains, quiet = TRUE)
  update(jm, n_burn, progress.bar = "none")
  s <- coda.samples(jm, m$par, n.iter = n_iter, progress.bar = "none")
  secs <- proc.time()[["elapsed"]] - t0
  draws <- as.matrix(s)[, m$par]
  ess <- effectiveSize(s)[m$par]
  rhat <- gelman.diag(s, autoburnin = FALSE, multivariate = FALSE)$psrf[m$par, 1]
  out <- data.frame(name = m$names, mean = colMeans(draws), sd = apply(draws, 2, sd),
                    ess = as.numeric(ess), rhat = as.numeric(rhat))
  file <- sprintf("tests/reference/data/jags_%s.csv", name)
  con <- file(file, "w")
  writeLines(c(
    sprintf("# JAGS %s (rjags %s, %s): model %s of validation/jags_aggregate.R on",
            rjags:::jags.version(), packageVersion("rjags"), R.version.string, name),
    sprintf("# tests/reference/data/aggregate_sim.csv; %d chains x %d iterations after %d",
            n_chains, n_iter, n_burn),
    sprintf("# burn-in, %s UTC, %.0f s in all (min ESS %.0f, max R-hat %.4f)",
            format(Sys.time(), tz = "UTC"), secs, min(ess), max(rhat))), con)
  write.csv(out, con, row.names = FALSE)
  close(con)
  cat(name, sprintf("%.0f s", secs), "\n")
  print(out, row.names = FALSE)
}
