"""Writes sizing.md and the gnuplot scripts (sizing/*.gp) from the figures
bench/run-sizing measured (results.tsv: key <TAB> values...). Stdlib only."""
import datetime, math, os, platform, sys

(res, out, cmd, load_start, load_end, started, ended, pgver, commit, disk, e2e_txn, rows_per_table) = sys.argv[1:]
r, series = {}, {}
for line in open(res):
    k, *v = line.rstrip("\n").split("\t")
    if len(v) == 1:
        r[k] = float(v[0])
    else:
        series.setdefault(k, []).append([float(x) for x in v])

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem_gib = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1]) / 2**20

# --- derived figures -------------------------------------------------------
e2e_rate = r["e2e_changes"] / r["e2e_secs"]
native_rate = r["e2e_changes"] / r["native_secs"]
per_core = r["e2e_changes"] / r["e2e_cpu"]            # changes per daemon CPU-second
bpc_raw = r["bytes_raw"] / r["e2e_changes"]            # bytes per change, never compacted
bpc_comp = r["bytes_compacted"] / r["e2e_changes"]
snap_rate = r["snap_rows"] / r["snap_secs"]
copy_rate = r["snap_rows"] / r["copy_secs"]
cu = series["catchup"]                                  # facilities, rows, secs, cpu, hwm, bytes
# Least-squares line through the catch-up times (seconds = a + b * facilities).
n = len(cu)
mx, my = sum(c[0] for c in cu) / n, sum(c[2] for c in cu) / n
sxx = sum((c[0] - mx) ** 2 for c in cu)
b = sum((c[0] - mx) * (c[2] - my) for c in cu) / sxx if sxx else my / mx
a = my - b * mx
national = a + b * 6000
cu_per_core = sum(c[1] for c in cu) / sum(c[3] for c in cu)  # source rows per daemon CPU-second, transform pipeline
peaks = ([(h, f"{int(t)} tables") for t, h, _ in series["rss_tables"]] + [(s[1], f"one {int(s[0]):,}-row transaction") for s in series["rss_txn"]]
         + [(c[4], f"the catch-up of {int(c[0])} facilities") for c in cu] + [(r["e2e_hwm"], "the end-to-end run")])
max_hwm, max_case = max(peaks)

big = max(cu, key=lambda c: c[1])                      # the largest run: fixed overheads (WAL, manifest) weigh least
bpr_transform = big[5] / big[1]                         # bytes on disk per source row, all topics incl. transform output
BPC = max(bpc_raw, bpr_transform)
SAFETY = 0.5          # plan for half of the measured per-core capacity
PER_CORE = min(per_core, cu_per_core)
OS_MIB = 512          # operating system, journald, ssh, page cache floor
DISK_HEADROOM = 1.3   # RocksDB compaction needs free space; never plan a full disk

def fmt(x, unit=""):
    return f"{x:,.0f}{unit}" if x >= 100 else f"{x:,.1f}{unit}" if x >= 1 else f"{x:.2f}{unit}"

# --- plots -----------------------------------------------------------------
d = os.path.join(out, "sizing")
def plot(name, title, xlabel, ylabel, rows, logx=False, extra=""):
    with open(os.path.join(d, name + ".dat"), "w") as f:
        for row in rows:
            f.write(" ".join(str(x) for x in row) + "\n")
    with open(os.path.join(d, name + ".gp"), "w") as f:
        f.write(f"""set terminal pngcairo size 800,480 font 'sans,10'
set output '{name}.png'
set title "{title}"
set xlabel "{xlabel}"
set ylabel "{ylabel}"
set grid
set key top left
set yrange [0:*]
{'set logscale x' if logx else ''}
{extra}
""")
plot("rss_vs_tables", "ghostlog daemon peak RSS (VmHWM) against the number of tables", "tables",
     "VmHWM (MiB)", [(t, h) for t, h, _ in series["rss_tables"]], True)
open(os.path.join(d, "rss_vs_tables.gp"), "a").write("plot 'rss_vs_tables.dat' using 1:2 with linespoints lw 2 pt 7 title 'capture + sink'\n")
plot("rss_vs_txn", "ghostlog daemon peak RSS (VmHWM) against the source transaction size", "rows in one transaction",
     "VmHWM (MiB)", [(s[0], s[1]) for s in series["rss_txn"]], True)
open(os.path.join(d, "rss_vs_txn.gp"), "a").write("plot 'rss_vs_txn.dat' using 1:2 with linespoints lw 2 pt 7 title 'capture + sink'\n")
plot("catchup_vs_facilities", "First full catch-up of the synthetic eLMIS v2 (capture, transform, sink)", "facilities",
     "seconds", [(c[0], c[2]) for c in cu], False,
     f"f(x) = {a} + {b} * x\nset xrange [0:*]")
open(os.path.join(d, "catchup_vs_facilities.gp"), "a").write(
    "plot 'catchup_vs_facilities.dat' using 1:2 with points pt 7 ps 1.5 title 'measured', f(x) with lines dt 2 title 'least-squares line'\n")
mc = r["e2e_changes"] / 1e6
plot("bytes_vs_changes", "Changelog bytes on disk (identity pipeline, insert + update per key)", "changes (millions)",
     "MiB on disk", [(0, 0, 0), (mc, r["bytes_raw"] / 2**20, r["bytes_compacted"] / 2**20)], False,
     "set xrange [0:*]")
open(os.path.join(d, "bytes_vs_changes.gp"), "a").write(
    "plot 'bytes_vs_changes.dat' using 1:2 with linespoints lw 2 pt 7 title 'before compaction', "
    "'' using 1:3 with linespoints lw 2 pt 5 title 'after ghostlog compact'\n")

# --- sizing table ----------------------------------------------------------
loads = [  # name, peak changes/s, average changes/s, days of history
    ("pilot: a few districts", 5, 1, 90),
    ("national eLMIS, ~6,000 facilities, normal days", 50, 10, 365),
    ("national, month-end reporting peak", 300, 30, 365),
    ("national, 3 years of history", 300, 30, 3 * 365),
]
def vcpus(peak):
    return max(2, math.ceil(peak / (PER_CORE * SAFETY)))
ram_gib = max(2, math.ceil((2 * max_hwm + OS_MIB) / 1024))
def disk_gb(avg, days):
    return avg * 86400 * days * BPC * DISK_HEADROOM / 1e9

started_s = datetime.datetime.fromtimestamp(float(started), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
L = []
p = L.append
p("# Hardware sizing")
p("")
p("Generated by `bench/run-sizing` (issue #7); do not edit by hand: rerun it. Every figure below was measured")
p("in that one run on the machine described here, and says how. The sizing table at the end is derived from")
p("them with the assumptions stated next to it.")
p("")
p("## The run")
p("")
p(f"- date: {started_s}; took {float(ended) - float(started):.0f} s")
p(f"- command: `{cmd.strip()}` (from the repository root, after `ninja -C build-bench ghostlog`, a Release build)")
p(f"- machine: {os.cpu_count()} × {cpu}, {mem_gib:.1f} GiB RAM, Linux {platform.release()}; "
  f"the clusters' and changelogs' filesystem: {disk.split()[1]}, {disk.split()[2]}")
p(f"- load average (1, 5, 15 min): {load_start} at start, {load_end} at end. The machine is shared: "
  "other work ran during the measurements, so the figures are on the low side and noisy.")
p(f"- ghostlog commit {commit}; {pgver}, throwaway clusters from `scripts/pg-cluster` (unix sockets, fsync = off); "
  "the daemon is `ghostlog run` with the changelog's `fsync = \"always\"`")
p("- RSS is the daemon's VmHWM (peak resident set) from /proc/PID/status; CPU is utime + stime from /proc/PID/stat, "
  "the daemon's own CPU only (PostgreSQL's is not counted)")
p("")
p("## Measurements")
p("")
p("### Sustained end-to-end changes/s (identity pipeline: capture → changelog → sink)")
p("")
p(f"{int(r['e2e_rows'] if 'e2e_rows' in r else r['e2e_changes'] / 2):,} rows inserted and then each updated once "
  f"({int(r['e2e_changes']):,} changes) on the source in {e2e_txn}-row transactions by one server-side DO block; "
  "timed from the start of the writes until the target has the last update (polled every 0.1 s). The same workload "
  "on a fresh table then goes through PostgreSQL's native logical replication (CREATE SUBSCRIPTION to a third "
  "cluster), the ceiling.")
p("")
p("| figure | value |")
p("|---|---:|")
p(f"| ghostlog end to end | {fmt(e2e_rate)} changes/s ({r['e2e_secs']:.1f} s; the source writes alone took {r['e2e_write_secs']:.1f} s) |")
p(f"| native logical replication, same workload | {fmt(native_rate)} changes/s ({r['native_secs']:.1f} s) |")
p(f"| ratio ghostlog / native | {e2e_rate / native_rate:.2f}× |")
p(f"| daemon CPU during the run | {r['e2e_cpu']:.1f} s |")
p(f"| **changes per daemon CPU-second** | **{fmt(per_core)}** |")
p("")
p("When the ghostlog time is close to the source write time, the source was the bottleneck and the changes/s figure is a "
  "lower bound of what ghostlog sustains; the per-CPU-second figure does not depend on that.")
p("")
p("### Changelog bytes on disk per million changes")
p("")
p("`du -sb` of the daemon's data dir (RocksDB SSTs, WAL, manifest; all topics: the table topic, "
  "`PREFIX.transaction`, `PREFIX.schema`) after the end-to-end run above and the daemon stopped, then after "
  "`ghostlog --data-dir DIR compact`. Capture creates table topics with cleanup.policy = compact (only the latest "
  "record per key survives compaction); the figure before compaction is what a topic with cleanup.policy = delete "
  "and no retention would keep, i.e. the full history. Transaction records are kept forever either way. The figure "
  "before compaction includes RocksDB's write-ahead log for data not yet flushed into SST files; compaction "
  "flushes it, so part of the difference is that WAL, not removed records.")
p("")
p("| | bytes | per million changes |")
p("|---|---:|---:|")
p(f"| before compaction | {int(r['bytes_raw']):,} | {bpc_raw * 1e6 / 2**20:,.1f} MiB ({bpc_raw:.0f} B/change) |")
p(f"| after `ghostlog compact` | {int(r['bytes_compacted']):,} | {bpc_comp * 1e6 / 2**20:,.1f} MiB ({bpc_comp:.0f} B/change) |")
p("")
p("Rows are (bigint id, int, 32-character text); wider rows cost proportionally more. With one insert and one update "
  "per key, compaction can drop at most about half of the table topic.")
p("")
p("![bytes on disk against changes](sizing/bytes_vs_changes.png)")
p("")
p("### RSS against the number of tables")
p("")
p(f"A fresh database pair, data dir and daemon per case; capture + sink with one table topic per table; "
  f"{rows_per_table} rows written to each table, one transaction per table; VmHWM read 2 s after the target has the last "
  "table's rows.")
p("")
p("| tables | VmHWM | daemon CPU |")
p("|---:|---:|---:|")
for t, h, c in series["rss_tables"]:
    p(f"| {int(t)} | {h:.1f} MiB | {c:.2f} s |")
p("")
p("![RSS against tables](sizing/rss_vs_tables.png)")
p("")
p("### RSS against source transaction size")
p("")
p("One INSERT ... SELECT generate_series of K rows (one transaction) per case, capture + sink, a fresh daemon per case "
  "(same data dir) so VmHWM is that case's peak; timed until the target has the last row.")
p("")
p("| rows in the transaction | VmHWM | daemon CPU | source commit → target has all |")
p("|---:|---:|---:|---:|")
for k, h, c, s in series["rss_txn"]:
    p(f"| {int(k):,} | {h:.1f} MiB | {c:.2f} s | {s:.1f} s |")
p("")
p("![RSS against transaction size](sizing/rss_vs_txn.png)")
p("")
p("### Snapshot rows/s")
p("")
p(f"One table of {int(r['snap_rows']):,} rows (same shape), `ghostlog run --stage capture` with snapshot = initial from "
  "an empty data dir, timed until the status JSON shows streaming with every row snapshotted (the status file is "
  "rewritten once a second, so this includes up to ~1 s of reporting delay); ceiling: "
  "`psql \\copy (SELECT * FROM t) TO /dev/null` right after, buffer cache warm for both.")
p("")
p("| figure | value |")
p("|---|---:|")
p(f"| ghostlog snapshot | {fmt(snap_rate)} rows/s ({r['snap_secs']:.1f} s, including daemon start and slot creation) |")
p(f"| psql \\copy | {fmt(copy_rate)} rows/s ({r['copy_secs']:.2f} s) |")
p(f"| ratio | {snap_rate / copy_rate:.2f}× |")
p("")
p("### First full catch-up of N facilities (transform pipeline)")
p("")
p("The synthetic eLMIS v2 of `scripts/demo-data` (seed 42) generated for N facilities (not timed), then from an empty "
  "data dir: `ghostlog run --stage capture` until it streams (the snapshot), then `ghostlog run` (capture, transform "
  "with mappings/openlmis-v2-v3, sink into the v3 reporting schema) until the status JSON shows transform and sink "
  "lag 0 (polled every 0.1 s; the status file is rewritten once a second). No concurrent writes. "
  "There is no ceiling tool for a transforming pipeline.")
p("")
p("| facilities | source rows | catch-up | rows/s | daemon CPU | VmHWM | data dir (du -sb) |")
p("|---:|---:|---:|---:|---:|---:|---:|")
for f, rows, s, c, h, by in cu:
    p(f"| {int(f)} | {int(rows):,} | {s:.1f} s | {fmt(rows / s)} | {c:.1f} s | {h:.1f} MiB | {by / 2**20:,.1f} MiB ({by / rows:.0f} B/source row) |")
p("")
if big[0] >= 6000:
    p(f"**Measured:** the national {int(big[0]):,} facilities ({int(big[1]):,} source rows) caught up in "
      f"**{big[2] / 60:,.1f} minutes**. Source rows per daemon CPU-second over these runs: {fmt(cu_per_core)}.")
else:
    p(f"**Extrapolation, not a measurement:** a least-squares line through these points "
      f"(seconds ≈ {a:.1f} + {b:.3f} × facilities) gives **{national / 60:,.0f} minutes** ({national / 3600:.1f} h) for a "
      "national 6,000 facilities, assuming the generator's data grows linearly with facilities and nothing else "
      f"(RocksDB, PostgreSQL caches) degrades at {6000 / big[0]:.0f}× the largest measured size. Source rows per daemon "
      f"CPU-second over these runs: {fmt(cu_per_core)}.")
p("")
p("![catch-up time against facilities](sizing/catchup_vs_facilities.png)")
p("")
if "lag_run" in series:
    f, rate, secs, tps, cps, drain = series["lag_run"][-1]
    lags = sorted(x[0] for x in series.get("lag", []))
    pct = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))] if lags else float("nan")
    p("### Sustained lag under the live eLMIS workload")
    p("")
    p(f"On the {int(f):,}-facility data, once caught up: the live workload of `scripts/demo-data/live_workload.pgbench` "
      f"(new requisitions, status changes, line-item edits, deletes, reference-data edits; 2 clients, `pgbench -R {rate:.0f}`) "
      f"for {secs:.0f} s while `ghostlog run` maps and applies it. Once a second the lag is read from the status file "
      "just written: its time minus the source commit time of the last transaction the sink applied (a workload "
      "that commits many times a second keeps that close to the real delay). The sizing table's national "
      "normal-day peak is 50 changes/s, so 500 changes/s is 10× it"
      + (f"; this run's source reached {fmt(cps)} changes/s ({tps:.0f} of the {rate:.0f} transactions/s asked), "
         "so it is not a 10× measurement" if cps < 500 else "")
      + ". The workload edits reference data in 3% of its transactions; a change to a row that very many rows look "
      "up (a loss/adjustment type, looked up by every adjustment reason of that type) maps all of them again in one "
      "batch (docs/transform.md, Limits). There is no ceiling tool for a transforming pipeline.")
    p("")
    p("| workload | source changes/s | lag p50 | lag p95 | lag max | samples | transform / sink backlog max | caught up after the workload |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|")
    p(f"| {tps:.1f} transactions/s | {fmt(cps)} | {pct(0.5):.2f} s | {pct(0.95):.2f} s | {lags[-1] if lags else float('nan'):.2f} s "
      f"| {len(lags)} | {max(int(x[1]) for x in series['lag'])} / {max(int(x[2]) for x in series['lag'])} transactions "
      f"| {drain:.1f} s |")
    p("")
p("## Sizing table")
p("")
p("Assumptions (change them and the table with them):")
p("")
p(f"- CPU: the lower of the two per-CPU-second figures above ({fmt(per_core)} changes/s identity, "
  f"{fmt(cu_per_core)} rows/s through the transform pipeline) = {fmt(PER_CORE)} per core, of which we plan to use "
  f"{SAFETY:.0%} (safety factor {SAFETY}: RocksDB background compaction, catch-up after an outage while new changes "
  "keep arriving, a loaded host). vCPUs = max(2, ⌈peak changes/s ÷ (per-core × safety)⌉).")
p(f"- RAM: ghostlog's largest measured VmHWM in this run ({max_hwm:.0f} MiB, in {max_case}) × 2 + {OS_MIB} MiB for the operating "
  "system, rounded up to whole GiB, at least 2 GiB. PostgreSQL v2 and v3 are assumed to run on their own hosts; "
  "co-located, add their shared_buffers (typically 25% of their RAM) and work_mem. The transform's live-lookup "
  "index is kept in the changelog, not in memory; the catch-up runs' VmHWM column shows what the transform "
  "pipeline still holds while it catches up.")
p(f"- Disk: average changes/s × 86,400 × days × {BPC:.0f} B/change × {DISK_HEADROOM} headroom for RocksDB "
  f"compaction. {BPC:.0f} B is the larger of the identity pipeline's uncompacted bytes per change ({bpc_raw:.0f} B) and the "
  f"largest catch-up data dir's bytes per eLMIS source row ({bpr_transform:.0f} B, which includes the transform's output "
  "topics), taken as if nothing were ever compacted: an upper bound.")
p(f"- With compaction, table topics keep only the latest record per key: in the identity run above the data dir went "
  f"to {r['bytes_compacted'] / r['bytes_raw']:.0%} of its size after `ghostlog compact` (both measured with the daemon "
  "stopped, its memtables flushed). How much a real history shrinks depends on how often the same keys change, so the "
  "table uses the uncompacted figure.")
p("- The load figures themselves (changes/s, days) are illustrative, not measured eLMIS traffic.")
p("")
p("| load | peak changes/s | average changes/s | days of history | vCPU | RAM | disk (changelog) |")
p("|---|---:|---:|---:|---:|---:|---:|")
for name, peak, avg, days in loads:
    dg = disk_gb(avg, days)
    p(f"| {name} | {peak} | {avg} | {days} | {vcpus(peak)} | {ram_gib} GB | {max(1, math.ceil(dg)):,} GB |")
p("")
pk = PER_CORE * SAFETY * 2
p(f"In words: **up to {fmt(pk)} changes/s and {int(1e9 * 20 / (10 * 86400 * BPC * DISK_HEADROOM)):,} days of "
  f"history at 10 changes/s average: 2 vCPU, {ram_gib} GB RAM, 20 GB disk.**")
open(os.path.join(out, "sizing.md"), "w").write("\n".join(L) + "\n")
