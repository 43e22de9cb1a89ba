#!/usr/bin/env python3
"""Writes the markdown tables of Docs/performance.md's issue-9 sections from the benchmarks' JSON.

Usage: tables.py RESULTS_DIR [OUT_FILE]   (OUT_FILE defaults to RESULTS_DIR/tables.md)

Standard library only, so it runs wherever the benchmarks ran. Reads what is there and skips what is not:
- cluster.json (make bench-cluster): the scale table (sustained rate beside the limits measured in the same run),
  the latency/CPU/network table at 25, 50 and 90% of saturation;
- cluster-etcd.json (the same run, --etcd): the consortium's first size beside etcd at the same offered rates;
- soak.json (make soak): the slopes.
Each table is headed by the machine, the commit and the date of the run it comes from.
"""
import json
import os
import sys


def load(directory, name):
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def n(value, digits=0):
    if value is None or value != value:  # None or NaN
        return "—"
    return f"{value:,.{digits}f}"


def stamp(meta):
    return f"_{meta.get('machine', '?')} · commit `{meta.get('commit', '?')}` · {meta.get('date', '?')}_"


def scale(clusters):
    lines = [stamp(clusters[0]), "",
             "| validators | ceiling (verifications/s per validator) | LevelDB synced batches alone (tx/s per validator) "
             "| verify + execute + commit alone | sustained tx/s | of the ceiling | of LevelDB's rate |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for c in clusters:
        ceiling, floor, sync, sustained = (c["ceilingPerValidator"], c["ledgerFloorPerValidator"],
                                           c.get("syncLimitPerValidator"), c["sustained"])
        of_sync = f"{100 * sustained / sync:.0f}%" if sync else "—"
        lines.append(f"| {c['validators']} | {n(ceiling)} | {n(sync)} | {n(floor)} ({100 * floor / ceiling:.0f}%) "
                     f"| **{n(sustained)}** | **{100 * sustained / ceiling:.0f}%** | {of_sync} |")
    lines += ["", "| validators | of saturation | offered tx/s | committed tx/s | rejected | p50 ms | p99 ms | p999 ms "
              "| CPU ms / tx (all nodes) | P2P bytes / tx / node |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in clusters:
        for f in c.get("fractions", []):
            r = f["result"]
            lines.append(f"| {c['validators']} | {100 * f['fraction']:.0f}% | {n(r['offered'])} | {n(r['committedPerSecond'])} "
                         f"| {r.get('rejected', 0)} | {n(r['p50Millis'])} | {n(r['p99Millis'])} | {n(r['p999Millis'])} "
                         f"| {n(r['cpuMillisPerTransaction'], 2)} | {n(r['p2pBytesPerTransactionPerNode'])} |")
    return lines


def etcd_table(first, etcd):
    lines = [stamp(first), "",
             f"| offered /s | TwinLedger ({first['validators']} validators) committed tx/s | p50 ms | p99 ms | CPU ms / tx "
             f"| etcd ({etcd['members']} members) committed writes/s | p50 ms | p99 ms | CPU ms / write |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ours = {r["offered"]: r for r in first["rates"]}
    for e in etcd["rates"]:
        o = ours.get(e["offered"])
        left = (f"{n(o['committedPerSecond'])} | {n(o['p50Millis'])} | {n(o['p99Millis'])} | {n(o['cpuMillisPerTransaction'], 2)}"
                if o else "— | | |")
        lines.append(f"| {n(e['offered'])} | {left} | {n(e['committedPerSecond'])} | {n(e['p50Millis'], 1)} "
                     f"| {n(e['p99Millis'], 1)} | {n(e['cpuMillisPerWrite'], 2)} |")
    sustained = max(r["committedPerSecond"] for r in etcd["rates"])
    lines += ["", f"Sustained: TwinLedger {n(first['sustained'])} tx/s, etcd {n(sustained)} writes/s, "
              f"ratio {first['sustained'] / max(1, sustained):.2f}; etcd stored {n(etcd['storedKeys'])} keys "
              f"(its committed writes: {n(sum(r['committed'] for r in etcd['rates']))})."]
    return lines


def soak_table(soak):
    samples = soak["samples"]
    steady = [s for s in samples if s["seconds"] > soak.get("warmUpSeconds", 60)]
    first, last = samples[0], samples[-1]
    caches = (f"state cache {soak.get('stateCacheMB') or 256} MiB, LevelDB block cache "
              f"{soak.get('levelDBCacheMB') or 64} MiB")
    median = sorted(s["committedPerSecond"] for s in samples)[len(samples) // 2]
    beyond = soak["residentSlope"] - soak["stateTreeSlope"] - soak["stateCacheSlope"]
    return [stamp(soak), "",
            f"{soak['validators']} validators, {soak['rate']} tx/s offered for {soak['seconds']} s, {caches}; slopes "
            f"after a warm-up of {soak.get('warmUpSeconds', 60):.0f} s ({len(steady)} samples).", "",
            "| | value |", "|---|---:|",
            f"| committed, median of the windows | {n(median)} tx/s |",
            f"| resident memory per node, first → last window | "
            f"{' / '.join(n(v) for v in first['residentMiB'])} → {' / '.join(n(v) for v in last['residentMiB'])} MiB |",
            f"| **resident memory slope per node** | **{soak['residentSlope']:+.2f} MiB/min** "
            f"(anonymous {soak['anonymousSlope']:+.2f}) |",
            f"| of which the state tree ({n(last['stateTreeMiB'], 1)} MiB at the end) | {soak['stateTreeSlope']:+.2f} MiB/min |",
            f"| of which the state cache ({n(last['stateCacheMiB'], 1)} MiB at the end) | {soak['stateCacheSlope']:+.2f} MiB/min |",
            f"| **beyond both** | **{beyond:+.2f} MiB/min** |",
            f"| anonymous memory less the state tree, after the warm-up / over the second half | "
            f"{slope(soak, 'anonymousBeyondTreeSlope')} / **{slope(soak, 'anonymousBeyondTreeSlopeSecondHalf')}** MiB/min |",
            f"| C heap in use / free in its arenas | {slope(soak, 'heapInUseSlope')} / {slope(soak, 'heapFreeSlope')} MiB/min |"]


def slope(soak, key):
    value = soak.get(key)
    if value is None and key.startswith("anonymousBeyondTree"):
        value = beyond_tree(soak, second_half=key.endswith("SecondHalf"))
    return "—" if value is None or value != value else f"{value:+.2f}"


def beyond_tree(soak, second_half):
    """The slope of mean anonymous memory less the state tree (soak.json before it carried the figure)."""
    start = soak["seconds"] / 2 if second_half else soak.get("warmUpSeconds", 60)
    points = [(s["seconds"] / 60, sum(s["anonymousMiB"]) / len(s["anonymousMiB"]) - s["stateTreeMiB"])
              for s in soak["samples"] if s["seconds"] > start]
    if len(points) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else None


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: tables.py RESULTS_DIR [OUT_FILE]")
    directory = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(directory, "tables.md")
    sections = []
    clusters = load(directory, "cluster.json")
    if clusters:
        sections.append(["## Scale and limits (cluster.json)", ""] + scale(clusters))
        etcd = load(directory, "cluster-etcd.json")
        if etcd:
            sections.append(["## Beside etcd (cluster-etcd.json)", ""] + etcd_table(clusters[0], etcd))
    soak = load(directory, "soak.json")
    if soak:
        sections.append(["## Soak (soak.json)", ""] + soak_table(soak))
    if not sections:
        print(f"tables: no cluster.json or soak.json in {directory}; nothing written")
        return
    with open(out, "w") as f:
        f.write("\n\n".join("\n".join(s) for s in sections) + "\n")
    print(f"tables: {out}")


if __name__ == "__main__":
    main()
