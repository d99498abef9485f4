#!/usr/bin/env bash
# Defaults that generalise (docs/training.md "Defaults over several data sets"):
# implicit ALS over a grid of factors × λ × α × per-user normalisation β
# (log confidence) on five data
# sets, each scored with train's own protocol (stratified 75/25, k = 10,
# seed 42, --no-refit). For every setting it prints nDCG@10 per data set,
# the nDCG relative to that data set's best in the grid, and the worst and
# mean relative nDCG; the last lines name the setting that maximises the
# worst case (ties: the mean) and where the current defaults rank.
#
#   bench/defaults_grid.sh [BUILD_DIR]
#   env: DATA (MovieLens directory: ml-100k/, ml-latest-small/; default ../shared/data
#        beside the repository, as the tests use), THREADS (2), ITERATIONS (15), WORK (temp dir),
#        FACTORS ("64 128"), LAMBDAS ("25 50 100"), ALPHAS ("5 10 20"), USER_NORMS ("0 0.25 0.5")
set -euo pipefail

build=${1:-build}
bin=$build/src/recsys
data=${DATA:-${RECSYS_SHARED_DATA:-$(dirname "$0")/../../shared/data}}
threads=${THREADS:-2}
iterations=${ITERATIONS:-15}
factors_list=${FACTORS:-"64 128"}
lambdas=${LAMBDAS:-"25 50 100"}
alphas=${ALPHAS:-"5 10 20"}
user_norms=${USER_NORMS:-"0 0.25 0.5"}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
trap '[ -z "${WORK:-}" ] && rm -rf "$work"' EXIT
[ -x "$bin" ] || { echo "no $bin: build first (meson setup $build && ninja -C $build)" >&2; exit 1; }
[ -f "$data/ml-100k/u.data" ] || { echo "no MovieLens data in $data (set DATA)" >&2; exit 1; }

# The data sets: two MovieLens sets as published, ML-100k binarised (ratings
# >= 4 kept, as 1), and from recsys generate the same synthetic pairs twice:
# with 1-5 stars and with play counts.
awk -F'\t' '$3 >= 4 {print $1 "\t" $2 "\t1"}' "$data/ml-100k/u.data" >"$work/ml100k-binary.tsv"
"$bin" generate --users 3000 --items 2000 --ratings 150000 --seed 7 -o "$work/stars.csv" >/dev/null
"$bin" generate --users 3000 --items 2000 --ratings 150000 --seed 7 --values counts -o "$work/counts.csv" >/dev/null
sets="ml100k mlsmall binary stars counts"
declare -A file=([ml100k]="$data/ml-100k/u.data" [mlsmall]="$data/ml-latest-small/ratings.csv"
                 [binary]="$work/ml100k-binary.tsv" [stars]="$work/stars.csv" [counts]="$work/counts.csv")
for s in $sets; do
  "$bin" --db "$work/$s.db" --log-level warn import "${file[$s]}" >/dev/null
done

results=$work/results.tsv
: >"$results"
for f in $factors_list; do
  for l in $lambdas; do
    for a in $alphas; do
      for b in $user_norms; do
        row="$f	$l	$a	$b"
        for s in $sets; do
          ndcg=$(nice "$bin" --db "$work/$s.db" --threads "$threads" --log-level warn train --model als --no-refit --no-loss \
                   --factors "$f" --regularization "$l" --alpha "$a" --user-norm "$b" --iterations "$iterations" |
                 awk '/^nDCG@10/ {print $2}')
          row="$row	$ndcg"
        done
        echo "$row" >>"$results"
        echo "$row" >&2
      done
    done
  done
done

# Relative nDCG per data set (÷ the grid's best on it), worst case and mean.
# Fields are tab-separated: a failed run's empty column keeps its place.
awk -F'\t' -v sets="$sets" 'BEGIN { n = split(sets, name, " ") }
  { rows[NR] = $0; for (j = 1; j <= n; ++j) { v[NR, j] = $(4 + j); if (v[NR, j] > best[j]) best[j] = v[NR, j] } }
  END {
    printf "%-8s %-7s %-6s %-5s", "factors", "lambda", "alpha", "unorm"
    for (j = 1; j <= n; ++j) printf " %9s", name[j]
    printf " %9s %9s\n", "worst", "mean"
    top = 0
    for (r = 1; r <= NR; ++r) {
      split(rows[r], f, "\t")
      worst = 1; mean = 0
      for (j = 1; j <= n; ++j) { rel = v[r, j] / best[j]; if (rel < worst) worst = rel; mean += rel / n }
      printf "%-8s %-7s %-6s %-5s", f[1], f[2], f[3], f[4]
      for (j = 1; j <= n; ++j) printf " %9.4f", v[r, j]
      printf " %9.4f %9.4f\n", worst, mean
      if (worst > bw || (worst == bw && mean > bm)) { bw = worst; bm = mean; top = r }
      if (f[1] == 64 && f[2] == 50 && f[3] == 10 && f[4] == 0) { dw = worst; dm = mean }
      if (f[1] == 64 && f[2] == 50 && f[3] == 10 && f[4] == 0.25) { ow = worst; om = mean }
    }
    split(rows[top], f, "\t")
    printf "best worst-case: factors %s, lambda %s, alpha %s, user norm %s (worst %.4f, mean %.4f)\n", f[1], f[2], f[3], f[4], bw, bm
    if (dw != "") printf "current defaults (64, 50, 10, user norm 0): worst %.4f, mean %.4f\n", dw, dm
    if (ow != "") printf "the defaults with user norm 0.25: worst %.4f, mean %.4f\n", ow, om
  }' "$results"
