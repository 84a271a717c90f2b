# JAGS reference posterior for a correlated country intercept and slope (#15).
# Usage: Rscript validation/jags_correlated.R <data.csv> <out.csv> <chains> <burnin> <iter> <thin>
# Called by validation/correlated_reference.py, which writes coalgov at the government level
# (columns gid cid logdur majority mwc) and stores the summary in
# tests/reference/data/cor_governments_jags.csv.
# Model (mmreg's names): logdur_i = Intercept + majority * majority_i + mwc * mwc_i
#   + a_j + b_j * majority_i + e_i,  e_i ~ N(0, sigma^2),
#   (a_j, b_j) ~ N(0, [[sigma.hm1^2, r s1 s2], [r s1 s2, sigma.hm1.majority^2]]),
#   r = cor.hm1.majority.
# Priors as mmreg's defaults: b ~ N(0, 100^2) (dnorm(0, 1e-4)), SDs half-Cauchy(25),
# the correlation LKJ(1) = uniform(-1, 1).
suppressMessages(library(rjags))
args <- commandArgs(trailingOnly = TRUE)
gov <- read.csv(args[1])
out <- args[2]
chains <- as.integer(args[3]); burnin <- as.integer(args[4])
iter <- as.integer(args[5]); thin <- as.integer(args[6])

cid <- as.integer(factor(gov$cid))
model <- "model {
  for (i in 1:N) {
    mu[i] <- b0 + b1 * majority[i] + b2 * mwc[i] + ab[cid[i], 1] + ab[cid[i], 2] * majority[i]
    y[i] ~ dnorm(mu[i], 1 / (sigma * sigma))
  }
  for (j in 1:J) { ab[j, 1:2] ~ dmnorm(zero, Omega) }
  Sigma[1, 1] <- s1 * s1
  Sigma[2, 2] <- s2 * s2
  Sigma[1, 2] <- r * s1 * s2
  Sigma[2, 1] <- r * s1 * s2
  Omega <- inverse(Sigma)
  b0 ~ dnorm(0, 1.0E-4)
  b1 ~ dnorm(0, 1.0E-4)
  b2 ~ dnorm(0, 1.0E-4)
  s1 ~ dt(0, 1 / (25 * 25), 1) T(0, )
  s2 ~ dt(0, 1 / (25 * 25), 1) T(0, )
  sigma ~ dt(0, 1 / (25 * 25), 1) T(0, )
  r ~ dunif(-1, 1)
}"
data <- list(y = gov$logdur, majority = gov$majority, mwc = gov$mwc, cid = cid,
             N = nrow(gov), J = max(cid), zero = c(0, 0))
inits <- lapply(seq_len(chains), function(c) list(.RNG.name = "base::Mersenne-Twister",
                                                   .RNG.seed = 200 + c, r = 0, s1 = 0.5,
                                                   s2 = 0.3, sigma = 0.9))
load.module("glm")
jm <- jags.model(textConnection(model), data = data, inits = inits, n.chains = chains,
                 quiet = TRUE)
update(jm, burnin, progress.bar = "none")
vars <- c("b0", "b1", "b2", "s1", "s2", "r", "sigma")
s <- coda.samples(jm, vars, n.iter = iter, thin = thin, progress.bar = "none")
m <- as.matrix(s)
names_mm <- c(b0 = "Intercept", b1 = "majority", b2 = "mwc", s1 = "sigma.hm1",
              s2 = "sigma.hm1.majority", r = "cor.hm1.majority", sigma = "sigma")
st <- summary(s)$statistics
ess <- effectiveSize(s)
rhat <- gelman.diag(s, multivariate = FALSE)$psrf[, 1]
res <- data.frame(param = names_mm[colnames(m)], mean = colMeans(m), sd = apply(m, 2, sd),
                  q025 = apply(m, 2, quantile, 0.025), q975 = apply(m, 2, quantile, 0.975),
                  mc_error = st[colnames(m), "Time-series SE"], n_eff = ess[colnames(m)],
                  rhat = rhat[colnames(m)])
con <- file(out, "w")
writeLines(paste0("# JAGS ", as.character(jags.version())), con)
write.csv(res, con, row.names = FALSE)
close(con)
