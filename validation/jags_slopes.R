# JAGS reference posteriors for the random-slope, correlated and time-scaled random-walk
# models of mmreg (#15), written by hand (not bml's code).
# Usage: Rscript validation/jags_slopes.R <model> <data.csv> <out.csv> \
#            <chains> <burnin> <iter> <thin> [<seed>]
#   model: country_slope | cor_slope | member_slope | member_pseat | ar_time
# Called by validation/slopes_reference.py, which writes the data: the real coalgov structure
# (one row per party in each government; columns gid pid cid n majority finance pseat_z t y) with a
# simulated Gaussian outcome y.  Summaries (mmreg's parameter names) go to <out.csv>.
#
# Models (mmreg's names; w_r = 1/n_i, c = TRUE; sums over the parties r of government i):
#   y_i ~ N(mu_i, sigma^2),
#   mu_i = Intercept + majority * majority_i + mm1.finance * sum_r w_r finance_r
#          + sum_r w_r u_{r} + country terms;
#   country_slope: u_r = u0[pid_r]; + v0[cid_i] + v1[cid_i] * majority_i, v0 ~ N(0, sigma.hm1^2),
#                  v1 ~ N(0, sigma.hm1.majority^2) independent           (re(1 + majority))
#   cor_slope:     as country_slope with (v0, v1) ~ N2(0, [s0^2, rho s0 s1; rho s0 s1, s1^2]),
#                  rho = cor.hm1.majority ~ U(-1, 1) (LKJ(1) in 2 x 2)     (cor = TRUE)
#   member_slope:  u_r = u0[pid_r] + u1[pid_r] * finance_r, u1 ~ N(0, sigma.mm1.finance^2);
#                  + v0[cid_i]                                            (mm RE = re(1 + finance))
#   member_pseat:  as member_slope with pseat_z (standardised seat share, varies within parties)
#                  in place of finance in the slope term; u1 ~ N(0, sigma.mm1.pseat_z^2)
#   ar_time:       u_r = s_r, one state per membership row: each party's rows ordered by t,
#                  first s ~ N(0, sigma.mm1^2), next s ~ N(s_prev, sigma.mm1^2 * dt / mean(dt)),
#                  mean over every step of every party; + v0[cid_i]       (re(1, ar = t))
# Priors as mmreg's defaults: coefficients N(0, 100^2) (dnorm(0, 1e-4)); every SD (also the
# residual sigma) half-Cauchy(0, 25); the correlation uniform on (-1, 1).
# The SDs of independent effects use Gelman's (2006) parameter expansion for speed of mixing
# (the plain centred model mixed ~10x slower for sigma.mm1 here): effects = xi * eta,
# eta ~ N(0, 1 / tau_eta), xi ~ N(0, 25^2), tau_eta ~ Gamma(1/2, 1/2), SD = |xi| / sqrt(tau_eta),
# which is exactly half-Cauchy(0, 25) (|N(0, 25^2)| / sqrt(chi2_1) = 25 |t_1|), with conjugate
# Gibbs updates for xi, eta and tau_eta.  Exception: member_pseat uses the plain centred code
# (member_slope_plain): on that design the expanded code's member SDs came out ~15% wider
# than the plain code's, mmreg's and a numpy exact-marginal check's (validation/README.md).
# The residual sigma and the correlated 2 x 2 block use the plain half-Cauchy
# (dt(0, 1/625, 1) T(0, ), slice sampled).
#
# Optional 9th argument: a CSV for the draws (chain, then JAGS's names).  Several runs with
# different seeds (run in parallel on a busy machine) are pooled by
#   Rscript validation/jags_slopes.R combine <out.csv> <draws1.csv> <draws2.csv> ...
# which summarises all their chains as one run (R-hat over every chain).
suppressMessages(library(rjags))
args <- commandArgs(trailingOnly = TRUE)

names_mm <- c(b0 = "Intercept", b1 = "majority", b2 = "mm1.finance", sigma_mm = "sigma.mm1",
              sigma_mms = "sigma.mm1.finance", sigma_hm = "sigma.hm1",
              sigma_sl = "sigma.hm1.majority", rho = "cor.hm1.majority", sigma = "sigma")
summarise <- function(s, out, header) {
  m <- as.matrix(s)
  cols <- colnames(m)
  st <- summary(s)$statistics
  q <- apply(m, 2, quantile, probs = c(0.025, 0.25, 0.5, 0.75, 0.975))
  ess <- effectiveSize(s)
  rhat <- gelman.diag(s, multivariate = FALSE)$psrf[, 1]
  res <- data.frame(param = names_mm[cols], mean = colMeans(m), sd = apply(m, 2, sd),
                    q2.5 = q[1, ], q25 = q[2, ], q50 = q[3, ], q75 = q[4, ], q97.5 = q[5, ],
                    mc_error = st[cols, "Time-series SE"], n_eff = ess[cols],
                    rhat = rhat[cols])
  con <- file(out, "w")
  writeLines(paste0("# JAGS ", as.character(jags.version()), "; ", header), con)
  write.csv(res, con, row.names = FALSE)
  close(con)
}

if (length(args) >= 3 && args[1] == "combine") {
  chains <- list()
  for (f in args[-(1:2)]) {
    d <- read.csv(f, check.names = FALSE)
    for (ch in unique(d$chain)) {
      chains[[length(chains) + 1]] <- mcmc(as.matrix(d[d$chain == ch, -1, drop = FALSE]))
    }
  }
  summarise(mcmc.list(chains), args[2],
            paste0(length(chains), " chains pooled from ", length(args) - 2, " runs"))
  quit(save = "no")
}
if (length(args) < 7) {
  stop("usage: Rscript jags_slopes.R <model> <data.csv> <out.csv> <chains> <burnin> <iter> ",
       "<thin> [<seed> [<draws.csv>]]")
}
kind <- args[1]
long <- read.csv(args[2])
out <- args[3]
chains <- as.integer(args[4]); burnin <- as.integer(args[5])
iter <- as.integer(args[6]); thin <- as.integer(args[7])
seed <- if (length(args) >= 8) as.integer(args[8]) else 100L

long <- long[order(long$gid, long$pid), ]
gids <- unique(long$gid)
grp <- long[!duplicated(long$gid), ]
pid <- as.integer(factor(long$pid))
cid <- as.integer(factor(grp$cid))
start <- match(gids, long$gid)
end <- c(start[-1] - 1, nrow(long))
w <- 1 / long$n
mmfin <- as.vector(tapply(w * long$finance, factor(long$gid, levels = gids), sum))

data <- list(y = grp$y, majority = grp$majority, mmfin = mmfin, w = w, start = start,
             end = end, cid = cid, R = nrow(long), N = length(gids), J = max(cid))
half_cauchy <- function(s) paste0(s, " ~ dt(0, 1 / (25 * 25), 1) T(0, )")
# parameter-expanded half-Cauchy(25) SD `s`: effects `s`_xi * `s`_eta[...] (see above)
px <- function(s) c(paste0("xi_", s, " ~ dnorm(0, 1 / (25 * 25))"),
                    paste0("tau_", s, " ~ dgamma(0.5, 0.5)"),
                    paste0(s, " <- abs(xi_", s, ") / sqrt(tau_", s, ")"))
common <- c(
  "b0 ~ dnorm(0, 1.0E-4)", "b1 ~ dnorm(0, 1.0E-4)", "b2 ~ dnorm(0, 1.0E-4)",
  half_cauchy("sigma"), "tau <- 1 / (sigma * sigma)",
  "for (i in 1:N) {",
  "  mm[i] <- sum(wu[start[i]:end[i]])",
  "  mu[i] <- b0 + b1 * majority[i] + b2 * mmfin[i] + mm[i] + country[i]",
  "  y[i] ~ dnorm(mu[i], tau)",
  "}"
)
intercept_only <- c(
  px("sigma_hm"),
  "for (j in 1:J) { e0[j] ~ dnorm(0, tau_sigma_hm); v0[j] <- xi_sigma_hm * e0[j] }",
  "for (i in 1:N) { country[i] <- v0[cid[i]] }"
)
member_intercept <- c(
  px("sigma_mm"),
  "for (k in 1:K) { a0[k] ~ dnorm(0, tau_sigma_mm); u0[k] <- xi_sigma_mm * a0[k] }",
  "for (r in 1:R) { wu[r] <- w[r] * u0[pid[r]] }"
)
country_slope <- c(
  px("sigma_hm"), px("sigma_sl"),
  "for (j in 1:J) {",
  "  e0[j] ~ dnorm(0, tau_sigma_hm); v0[j] <- xi_sigma_hm * e0[j]",
  "  e1[j] ~ dnorm(0, tau_sigma_sl); v1[j] <- xi_sigma_sl * e1[j]",
  "}",
  "for (i in 1:N) { country[i] <- v0[cid[i]] + v1[cid[i]] * majority[i] }"
)
cor_slope <- c(
  half_cauchy("sigma_hm"), half_cauchy("sigma_sl"), "rho ~ dunif(-1, 1)",
  "Sigma[1, 1] <- sigma_hm * sigma_hm", "Sigma[2, 2] <- sigma_sl * sigma_sl",
  "Sigma[1, 2] <- rho * sigma_hm * sigma_sl", "Sigma[2, 1] <- Sigma[1, 2]",
  "Omega[1:2, 1:2] <- inverse(Sigma[1:2, 1:2])",
  "for (j in 1:J) { v[j, 1:2] ~ dmnorm(zero[1:2], Omega[1:2, 1:2]) }",
  "for (i in 1:N) { country[i] <- v[cid[i], 1] + v[cid[i], 2] * majority[i] }"
)
member_slope <- c(
  px("sigma_mm"), px("sigma_mms"),
  "for (k in 1:K) {",
  "  a0[k] ~ dnorm(0, tau_sigma_mm); u0[k] <- xi_sigma_mm * a0[k]",
  "  a1[k] ~ dnorm(0, tau_sigma_mms); u1[k] <- xi_sigma_mms * a1[k]",
  "}",
  "for (r in 1:R) { wu[r] <- w[r] * (u0[pid[r]] + u1[pid[r]] * xs[r]) }"
)
# member_pseat: the plain centred half-Cauchy SDs.  The parameter-expanded code above gave
# member SDs ~15% wider posterior SDs than this code, mmreg's MCMC and a numpy exact-marginal
# check on the pseat_z design (session 7; see validation/README.md) -- not trusted here.
member_slope_plain <- c(
  half_cauchy("sigma_mm"), half_cauchy("sigma_mms"),
  "for (k in 1:K) {",
  "  u0[k] ~ dnorm(0, 1 / (sigma_mm * sigma_mm))",
  "  u1[k] ~ dnorm(0, 1 / (sigma_mms * sigma_mms))",
  "}",
  "for (r in 1:R) { wu[r] <- w[r] * (u0[pid[r]] + u1[pid[r]] * xs[r]) }"
)
ar_time <- c(
  px("sigma_mm"),
  "for (a in 1:A) { e[first[a]] ~ dnorm(0, tau_sigma_mm) }",
  "for (b in 1:B) { e[nxt[b]] ~ dnorm(e[prv[b]], tau_sigma_mm / scl[b]) }",
  "for (r in 1:R) { wu[r] <- w[r] * xi_sigma_mm * e[r] }"
)

if (kind == "country_slope") {
  body <- c(common, member_intercept, country_slope)
  vars <- c("b0", "b1", "b2", "sigma_mm", "sigma_hm", "sigma_sl", "sigma")
} else if (kind == "cor_slope") {
  body <- c(common, member_intercept, cor_slope)
  data$zero <- c(0, 0)
  vars <- c("b0", "b1", "b2", "sigma_mm", "sigma_hm", "sigma_sl", "rho", "sigma")
} else if (kind %in% c("member_slope", "member_pseat")) {
  body <- c(common, if (kind == "member_slope") member_slope else member_slope_plain,
            intercept_only)
  slope_col <- if (kind == "member_slope") "finance" else "pseat_z"
  data$xs <- long[[slope_col]]
  names_mm["sigma_mms"] <- paste0("sigma.mm1.", slope_col)
  vars <- c("b0", "b1", "b2", "sigma_mm", "sigma_mms", "sigma_hm", "sigma")
} else if (kind == "ar_time") {
  # each party's rows in time order: first row, then (next, previous, dt / mean dt)
  ord <- order(pid, long$t)
  p_sorted <- pid[ord]
  is_first <- c(TRUE, p_sorted[-1] != p_sorted[-length(p_sorted)])
  if (any(duplicated(data.frame(pid, long$t)))) stop("time values repeat within a party")
  nxt <- ord[!is_first]
  prv <- ord[which(!is_first) - 1]
  dt <- long$t[nxt] - long$t[prv]
  body <- c(common, ar_time, intercept_only)
  data <- c(data, list(first = ord[is_first], nxt = nxt, prv = prv, scl = dt / mean(dt),
                       A = sum(is_first), B = length(nxt)))
  vars <- c("b0", "b1", "b2", "sigma_mm", "sigma_hm", "sigma")
} else {
  stop("unknown model '", kind, "'; known: country_slope, cor_slope, member_slope, member_pseat, ",
       "ar_time")
}
if (kind != "ar_time") {
  data$pid <- pid
  data$K <- max(pid)
}
model <- paste(c("model {", paste0("  ", body), "}"), collapse = "\n")

inits <- lapply(seq_len(chains), function(c) list(.RNG.name = "base::Mersenne-Twister",
                                                   .RNG.seed = seed + c))
load.module("glm")
t0 <- proc.time()
jm <- jags.model(textConnection(model), data = data, inits = inits, n.chains = chains,
                 quiet = TRUE)
update(jm, burnin, progress.bar = "none")
s <- coda.samples(jm, vars, n.iter = iter, thin = thin, progress.bar = "none")
el <- proc.time() - t0
secs <- el[["elapsed"]]
cpu <- sum(el[c("user.self", "sys.self")])
summarise(s, out, paste0(round(secs, 1), " s; ", round(cpu, 1), " cpu s"))
if (length(args) >= 9) {
  write.csv(do.call(rbind, lapply(seq_along(s), function(i) {
    data.frame(chain = i, as.matrix(s[[i]]), check.names = FALSE)
  })), args[9], row.names = FALSE)
}
