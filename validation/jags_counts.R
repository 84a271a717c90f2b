# JAGS reference posteriors for the count families of mmreg (#15).
# Usage: Rscript validation/jags_counts.R <poisson|negbinomial> <data.csv> <out.csv> \
#            <chains> <burnin> <iter> <thin>
# Called by validation/count_reference.py, which simulates the data (coalgov-shaped: one row
# per party in each government, columns gid pid cid n majority finance log_exposure y) and
# stores the summary in tests/reference/data/{poisson,negbin}_jags.csv.
# Model (mmreg's names): log mu_i = Intercept + majority * majority_i
#   + mm1.finance * sum_k finance_ik / n_i + sum_k u_k / n_i + v_j + log_exposure_i,
#   u_k ~ N(0, sigma.mm1^2), v_j ~ N(0, sigma.hm1^2); y_i ~ Poisson(mu_i) or NB2(mu_i, shape).
# Priors as mmreg's defaults: b ~ N(0, 100^2) (dnorm(0, 1e-4)), SDs half-Cauchy(25),
# shape ~ Gamma(0.01, 0.01).
suppressMessages(library(rjags))
args <- commandArgs(trailingOnly = TRUE)
family <- args[1]
long <- read.csv(args[2])
out <- args[3]
chains <- as.integer(args[4]); burnin <- as.integer(args[5])
iter <- as.integer(args[6]); thin <- as.integer(args[7])

long <- long[order(long$gid, long$pid), ]
gids <- unique(long$gid)
grp <- long[!duplicated(long$gid), ]
pid <- as.integer(factor(long$pid))
cid <- as.integer(factor(grp$cid))
start <- match(gids, long$gid)
end <- c(start[-1] - 1, nrow(long))
w <- 1 / long$n  # equal weights, c = TRUE
mmfin <- as.vector(tapply(w * long$finance, factor(long$gid, levels = gids), sum))

lik <- if (family == "poisson") "y[i] ~ dpois(mu[i])" else
  "y[i] ~ dnegbin(shape / (shape + mu[i]), shape)"
shape_prior <- if (family == "poisson") "" else "shape ~ dgamma(0.01, 0.01)"
model <- paste0("model {
  for (r in 1:R) { wu[r] <- w[r] * u[pid[r]] }
  for (i in 1:N) {
    mm[i] <- sum(wu[start[i]:end[i]])
    log(mu[i]) <- b0 + b1 * majority[i] + b2 * mmfin[i] + mm[i] + v[cid[i]] + logexp[i]
    ", lik, "
  }
  for (k in 1:K) { u[k] ~ dnorm(0, 1 / (sigma_mm * sigma_mm)) }
  for (j in 1:J) { v[j] ~ dnorm(0, 1 / (sigma_hm * sigma_hm)) }
  b0 ~ dnorm(0, 1.0E-4)
  b1 ~ dnorm(0, 1.0E-4)
  b2 ~ dnorm(0, 1.0E-4)
  sigma_mm ~ dt(0, 1 / (25 * 25), 1) T(0, )
  sigma_hm ~ dt(0, 1 / (25 * 25), 1) T(0, )
  ", shape_prior, "
}")
data <- list(y = grp$y, majority = grp$majority, mmfin = mmfin, logexp = grp$log_exposure,
             w = w, pid = pid, cid = cid, start = start, end = end, R = nrow(long),
             N = length(gids), K = max(pid), J = max(cid))
inits <- lapply(seq_len(chains), function(c) list(.RNG.name = "base::Mersenne-Twister",
                                                   .RNG.seed = 100 + c))
load.module("glm")
t0 <- proc.time()
jm <- jags.model(textConnection(model), data = data, inits = inits, n.chains = chains,
                 quiet = TRUE)
update(jm, burnin, progress.bar = "none")
vars <- c("b0", "b1", "b2", "sigma_mm", "sigma_hm", if (family != "poisson") "shape")
s <- coda.samples(jm, vars, n.iter = iter, thin = thin, progress.bar = "none")
el <- proc.time() - t0  # compilation, adaptation, burn-in and sampling
m <- as.matrix(s)
names_mm <- c(b0 = "Intercept", b1 = "majority", b2 = "mm1.finance", sigma_mm = "sigma.mm1",
              sigma_hm = "sigma.hm1", shape = "shape")
st <- summary(s)$statistics
ess <- effectiveSize(s)
rhat <- gelman.diag(s, multivariate = FALSE)$psrf[, 1]
res <- data.frame(param = names_mm[colnames(m)], mean = colMeans(m), sd = apply(m, 2, sd),
                  mc_error = st[colnames(m), "Time-series SE"], n_eff = ess[colnames(m)],
                  rhat = rhat[colnames(m)])
con <- file(out, "w")
writeLines(paste0("# JAGS ", as.character(jags.version()), "; ", round(el[["elapsed"]], 1),
                  " s; ", round(sum(el[c("user.self", "sys.self")]), 1), " cpu s"), con)
write.csv(res, con, row.names = FALSE)
close(con)
