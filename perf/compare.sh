#!/usr/bin/env bash
# compare.sh OLD.md NEW.md: regression check between two perf/run.sh result files.
#
# Reads every run.sh table row in both files (| scenario | size | offered | sent | written |
# loss % | kdrop | µs/msg | RSS MiB | [p50 µs | p99 µs |]; other tables and text are
# ignored), groups rows by (scenario, size, offered) with "max ..." rows grouped as "max",
# takes the median over repeated rows, and compares the groups found in both files:
#   W  written msgs/s (offered rate × written / sent; for "max" the rate the generator
#      reached) fell by more than THRESHOLD %
#   U  µs/msg (hekad CPU per written message) rose by more than THRESHOLD %
#   E  the zero-loss edge of a (scenario, size) fell by more than THRESHOLD %: the highest
#      fixed offered rate, among those tested in both files, at which every row lost 0 %
#      ("max" rows are left out: the generator's rate differs from run to run)
# Prints the two diff tables; exit 1 when anything is flagged, 0 when nothing is, 2 on a
# usage error or when the files share no row.
#
# env: THRESHOLD  percent  [10]
set -euo pipefail
if [[ $# -ne 2 || ! -r $1 || ! -r $2 ]]; then
    echo "usage: $0 OLD.md NEW.md (two perf/run.sh result files)" >&2
    exit 2
fi
THRESHOLD=${THRESHOLD:-10}
awk -v thr="$THRESHOLD" -v oldname="$1" -v newname="$2" '
function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
function num(s) { return s ~ /^-?[0-9]+(\.[0-9]+)?$/ }
# median of the values "v1 v2 ..." (insertion sort; a handful of reps)
function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (n % 2) ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
}
function pct(o, n) { return o ? sprintf("%+.1f", (n - o) * 100 / o) : "n/a" }
FNR == 1 { f++ }
/^\|/ {
    n = split($0, c, "|")
    if (n < 11) next                   # at least 9 cells between the bars
    for (i = 2; i < n; i++) c[i] = trim(c[i])
    scen = c[2]; size = c[3]; off = c[4]; sent = c[5]; writ = c[6]; loss = c[7]; us = c[9]
    if (!num(size) || !num(sent) || !num(writ) || !num(loss) || sent == 0) next
    if (off ~ /^max/) {
        k = off; sub(/^max[ \t]*/, "", k)
        mult = (k ~ /k$/) ? 1000 : (k ~ /M$/) ? 1e6 : 1
        sub(/[kM]$/, "", k)
        if (!num(k)) next
        rate = k * mult; okey = "max"
    } else if (num(off)) {
        rate = off + 0; okey = off + 0
    } else next
    key = scen SUBSEP size SUBSEP okey
    if (!((f, key) in seen)) { seen[f, key] = 1; if (f == 2) order[++nk] = key }
    w[f, key] = w[f, key] " " rate * writ / sent
    if (num(us)) u[f, key] = u[f, key] " " us
    if (loss + 0 != 0) lossy[f, key] = 1
}
END {
    flags = 0
    rows = ""
    for (i = 1; i <= nk; i++) {
        key = order[i]
        if (!((1, key) in seen)) { only_new++; continue }
        common++
        split(key, k3, SUBSEP)
        wo = median(w[1, key]); wn = median(w[2, key])
        flag = ""
        if (wn < wo * (1 - thr / 100)) flag = flag "W"
        uo = ((1, key) in u) ? median(u[1, key]) : 0
        un = ((2, key) in u) ? median(u[2, key]) : 0
        if (uo > 0 && un > uo * (1 + thr / 100)) flag = flag "U"
        if (flag != "") flags++
        rows = rows sprintf("| %s | %s | %s | %.0f | %.0f | %s | %.2f | %.2f | %s | %s |\n", k3[1], k3[2], k3[3], wo, wn, pct(wo, wn), uo, un, pct(uo, un), flag)
        if (k3[3] != "max") {
            g = k3[1] SUBSEP k3[2]
            if (!(g in groups)) { groups[g] = 1; gorder[++ng] = g }
            if (!((1, key) in lossy) && k3[3] + 0 > edge1[g]) edge1[g] = k3[3] + 0
            if (!((2, key) in lossy) && k3[3] + 0 > edge2[g]) edge2[g] = k3[3] + 0
        }
    }
    for (key in seen) { split(key, kk, SUBSEP); if (kk[1] == 1 && !((2, kk[2] SUBSEP kk[3] SUBSEP kk[4]) in seen)) only_old++ }
    if (!common) { print "compare.sh: no (scenario, size, offered) row in both files" > "/dev/stderr"; exit 2 }
    printf "| scenario | size | offered | written/s old | written/s new | Δ %% | µs/msg old | µs/msg new | Δ %% | flag |\n"
    printf "|---|---|---|---|---|---|---|---|---|---|\n%s", rows
    printf "\n| scenario | size | zero-loss edge old | edge new | Δ %% | flag |\n|---|---|---|---|---|---|\n"
    for (j = 1; j <= ng; j++) {
        g = gorder[j]
        split(g, g2, SUBSEP)
        eo = edge1[g] + 0; en = edge2[g] + 0
        flag = (en < eo * (1 - thr / 100)) ? "E" : ""
        if (flag != "") flags++
        printf "| %s | %s | %s | %s | %s | %s |\n", g2[1], g2[2], eo ? eo : "none", en ? en : "none", pct(eo, en), flag
    }
    printf "\ncompare.sh: %s vs %s: %d row group(s) compared (%d only in old, %d only in new); %d flagged (> %s %%: W written/s fell, U µs/msg rose, E zero-loss edge fell)\n", oldname, newname, common, only_old, only_new, flags, thr
    exit flags ? 1 : 0
}' "$1" "$2"
