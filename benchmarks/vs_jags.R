# bml 0.9.0 + JAGS on one coalgov reference model, timed (called by benchmarks/vs_jags.py).
#
#   Rscript benchmarks/vs_jags.R <model> <seed> <out prefix> [<coalgov.csv>]
#
# Runs bml() at bml's default settings (n.iter, n.burnin, n.thin, n.chains, priors unless
# the reference README states others) with parallel = FALSE (one process), times the wall
# and CPU time of the bml() call (JAGS compilation, adaptation and formatting included;
# starting R, loading packages and reading the CSV excluded) and writes
#   <out prefix>_summary.csv  key,value: wall_s, cpu_s, settings, versions
#   <out prefix>_ess.csv      param,ess: coda::effectiveSize (summed over chains) of every
#                             fixed effect, weight parameter, SD and shape
#   <out prefix>_draws.csv    chain, then the saved draws of those parameters
# The models and their bml calls are those of ../shared/reference/README.md; gaus_ar is
# gaus_hm with a random walk of the party effects (mm(..., ar = TRUE)).

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 3) {
  stop("usage: Rscript vs_jags.R <model> <seed> <out prefix> [<coalgov.csv>]")
}
model <- args[[1]]
seed <- as.integer(args[[2]])
out <- args[[3]]
csv <- if (length(args) >= 4) args[[4]] else file.path("..", "shared", "data", "coalgov.csv")

suppressPackageStartupMessages(library(bml))

d <- read.csv(csv)
# Debian's newer dplyr: integer survival times break bml's Weibull/Cox data step
d$dur_wkb <- as.numeric(d$dur_wkb)
d$logdur <- log(d$dur_wkb)

mm_coh <- "mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE)"
mm_fin <- "mm(id = id(pid, gid), vars = vars(finance), fn = fn(w ~ 1/n, c = TRUE), RE = TRUE)"
mm_w <- paste0("mm(id = id(pid, gid), vars = vars(finance), ",
               "fn = fn(w ~ 1 / (1 + (n - 1) * exp(-(b0 + b1 * pseat))), c = TRUE), RE = TRUE)")
mm_ar <- paste0("mm(id = id(pid, gid), vars = vars(cohesion), fn = fn(w ~ 1/n, c = TRUE), ",
                "RE = TRUE, ar = TRUE)")
hm <- 'hm(id = id(cid), type = "RE")'
surv <- "Surv(dur_wkb, event_wkb)"
w_prior <- c("b.w.1 ~ dnorm(0,1)")  # N(0, 1) on both weight parameters

specs <- list(
  gaus_hm = list(f = paste("logdur ~ 1 + majority +", mm_coh, "+", hm), family = "Gaussian"),
  gaus_w = list(f = paste("logdur ~ 1 + majority +", mm_w, "+", hm), family = "Gaussian",
                priors = w_prior),
  weib_eq = list(f = paste(surv, "~ 1 + majority +", mm_fin), family = "Weibull"),
  binom_hm = list(f = paste("event_wkb ~ 1 + majority +", mm_coh, "+", hm),
                  family = "Binomial"),
  weib_hm = list(f = paste(surv, "~ 1 + majority +", mm_coh, "+", hm), family = "Weibull"),
  weib_w = list(f = paste(surv, "~ 1 + majority +", mm_w), family = "Weibull",
                priors = w_prior),
  cox10 = list(f = paste(surv, "~ 0 + majority + mm(id = id(pid, gid), vars = vars(cohesion),",
                         "fn = fn(w ~ 1/n), RE = TRUE)"), family = "Cox", cox_intervals = 10),
  gaus_ar = list(f = paste("logdur ~ 1 + majority +", mm_ar, "+", hm), family = "Gaussian")
)
if (!model %in% names(specs)) {
  stop("unknown model '", model, "'; known: ", paste(names(specs), collapse = ", "))
}
s <- specs[[model]]

call_args <- list(formula = as.formula(s$f), family = s$family, seed = seed,
                  parallel = FALSE, data = d)
if (!is.null(s$priors)) call_args$priors <- s$priors
if (!is.null(s$cox_intervals)) call_args$cox_intervals <- s$cox_intervals

t0 <- proc.time()
fit <- do.call(bml, call_args)
t1 <- proc.time()
wall <- (t1 - t0)[["elapsed"]]
cpu <- sum((t1 - t0)[c("user.self", "sys.self", "user.child", "sys.child")], na.rm = TRUE)

draws <- coda::as.mcmc(fit$jags.out)
pat <- paste0("^(b(\\[[0-9]+\\])?|b\\.(mm|hm|w)\\.[0-9]+(\\[[0-9]+\\])?|",
              "sigma(\\.(mm|hm)\\.[0-9]+)?|shape)$")
keep <- grep(pat, coda::varnames(draws), value = TRUE)
sel <- draws[, keep, drop = FALSE]
ess <- coda::effectiveSize(sel)
write.csv(data.frame(param = names(ess), ess = as.numeric(ess)),
          paste0(out, "_ess.csv"), row.names = FALSE)
flat <- do.call(rbind, lapply(seq_along(sel), function(i) {
  data.frame(chain = i, as.matrix(sel[[i]]), check.names = FALSE)
}))
write.csv(flat, paste0(out, "_draws.csv"), row.names = FALSE)

bo <- fit$jags.out$BUGSoutput
summary <- data.frame(
  key = c("wall_s", "cpu_s", "n_chains", "n_iter", "n_burnin", "n_thin", "n_keep", "bml",
          "R", "rjags"),
  value = c(wall, cpu, bo$n.chains, bo$n.iter, bo$n.burnin, bo$n.thin, bo$n.keep,
            as.character(packageVersion("bml")), paste(R.version$major, R.version$minor,
                                                       sep = "."),
            as.character(packageVersion("rjags")))
)
write.csv(summary, paste0(out, "_summary.csv"), row.names = FALSE)
