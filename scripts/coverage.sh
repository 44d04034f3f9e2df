#!/usr/bin/env bash
# coverage.sh PROFILE: per-package statement coverage from a merged
# -coverpkg profile (a block counts as covered when any test binary ran it).
set -euo pipefail
awk -F'[: ,]' 'NR > 1 {
  file = $1; key = $1 ":" $2 "," $3; stmts[key] = $4
  if ($5 > 0) hit[key] = 1
} END {
  for (k in stmts) {
    split(k, a, ":"); n = split(a[1], parts, "/"); pkg = parts[1]
    for (i = 2; i < n; i++) pkg = pkg "/" parts[i]
    total[pkg] += stmts[k]; all += stmts[k]
    if (k in hit) { covered[pkg] += stmts[k]; cov += stmts[k] }
  }
  for (p in total) printf "coverage: %5.1f%%  %s\n", 100 * covered[p] / total[p], p
  printf "coverage: %5.1f%%  total\n", 100 * cov / all
}' "$1" | sort -k3
