#!/usr/bin/env bash
# bench/run-sizing at a tiny scale into a temporary output dir: every
# measurement runs, and the generated sizing.md has its sections, no
# placeholders and the four plots as real PNG files. Figures are not checked
# (the machine is shared); only that the report is well formed.
set -euo pipefail
build="$1"; root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
GHOSTLOG_SIZING_SCALE="${GHOSTLOG_SIZING_SCALE:-0.02}" GHOSTLOG_SIZING_OUT="$out" GHOSTLOG_BIN="$build/app/ghostlog" \
  "$root/bench/run-sizing" "$build"
md="$out/sizing.md"
fail() { echo "sizing_smoke: $*" >&2; exit 1; }
[ -s "$md" ] || fail "no sizing.md"
for h in "## The run" "### Sustained end-to-end" "### Changelog bytes on disk" "### RSS against the number of tables" \
         "### RSS against source transaction size" "### Snapshot rows/s" "### First full catch-up" "## Sizing table" \
         "Extrapolation, not a measurement"; do
  grep -qF "$h" "$md" || fail "sizing.md lacks '$h'"
done
! grep -nE 'nan|inf\b|None|\{[a-z_]+\}' "$md" || fail "sizing.md has an unformatted or undefined figure"
for p in rss_vs_tables rss_vs_txn catchup_vs_facilities bytes_vs_changes; do
  grep -qF "(sizing/$p.png)" "$md" || fail "sizing.md does not show $p.png"
  [ "$(head -c 8 "$out/sizing/$p.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$p.png is not a PNG"
done
# Bad input: a clear one-line message, non-zero exit, nothing written.
bad="$(mktemp -d)"
if GHOSTLOG_SIZING_SCALE=abc GHOSTLOG_SIZING_OUT="$bad" "$root/bench/run-sizing" "$build" 2>"$bad.err"; then fail "scale 'abc' accepted"; fi
grep -q "GHOSTLOG_SIZING_SCALE must be a number" "$bad.err" || fail "unclear message for a bad scale: $(cat "$bad.err")"
[ -z "$(ls -A "$bad")" ] || fail "a bad scale wrote into the output dir"
rm -rf "$bad" "$bad.err"
echo "sizing_smoke: ok ($(wc -l <"$md") lines)"
