#!/usr/bin/env python3
"""Draws Docs/plots/*.png from the JSON that the benchmarks write (Docs/performance.md, "Plots").

Usage: plots.py RESULTS_DIR OUT_DIR

Reads what is there and skips what is not:
- cluster.json (make bench-cluster): throughput against offered load, latency percentiles against offered load,
  throughput against the number of validators next to the machine's limits measured in the same run;
- soak.json (make soak): every node's resident memory, the state tree's size and anonymous memory less the tree
  (the plateau check) over time;
- foundation.json (make bench): ABE encryption and decryption time against policy size, and blob upload and download
  MB/s against payload size next to their ceilings.
Every figure names the machine, the commit and the date of its run. matplotlib is pinned by scripts/bench-peers.sh.
"""
import json
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def stamp(fig, meta):
    text = f"{meta.get('machine', 'unknown machine')} · commit {meta.get('commit', '?')} · {meta.get('date', '?')}"
    fig.text(0.01, 0.01, text, fontsize=7, color="#555555")


def save(fig, out, name):
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path = os.path.join(out, name)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"plots: {path}")


def cluster_plots(clusters, out):
    meta = clusters[0]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for c in clusters:
        offered = [r["offered"] for r in c["rates"]]
        committed = [r["committedPerSecond"] for r in c["rates"]]
        ax.plot(offered, committed, marker="o", label=f"{c['validators']} validators")
    top = max(r["offered"] for c in clusters for r in c["rates"])
    ax.plot([0, top], [0, top], color="#999999", linestyle=":", label="committed = offered")
    ax.set_xlabel("offered load (signed consent grants per second, open loop)")
    ax.set_ylabel("committed transactions per second")
    ax.set_title("Throughput against offered load")
    ax.legend()
    ax.grid(alpha=0.3)
    stamp(fig, meta)
    save(fig, out, "throughput-vs-load.png")

    fig, axes = plt.subplots(1, len(clusters), figsize=(3.6 * len(clusters), 4), sharey=True, squeeze=False)
    for ax, c in zip(axes[0], clusters):
        steps = sorted(c["rates"] + [f["result"] for f in c.get("fractions", [])], key=lambda r: r["offered"])
        offered = [r["offered"] for r in steps]
        for key, label in (("p50Millis", "p50"), ("p99Millis", "p99"), ("p999Millis", "p99.9")):
            ax.plot(offered, [r[key] for r in steps], marker=".", label=label)
        for f in c.get("fractions", []):
            ax.axvline(f["result"]["offered"], color="#cccccc", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_title(f"{c['validators']} validators")
        ax.set_xlabel("offered tx/s")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("commit latency, ms (log)")
    axes[0][0].legend()
    fig.suptitle("Commit latency against offered load (grey lines: 25, 50, 90% of saturation)")
    stamp(fig, meta)
    save(fig, out, "latency-vs-load.png")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    n = [c["validators"] for c in clusters]
    ax.plot(n, [c["sustained"] for c in clusters], marker="o", label="sustained (committed tx/s)")
    ax.plot(n, [c["ceilingPerValidator"] for c in clusters], marker="s", linestyle="--",
            label="ceiling: Schnorr verifications/s per validator, all at once")
    ax.plot(n, [c["ledgerFloorPerValidator"] for c in clusters], marker="^", linestyle="--",
            label="verify + execute + commit alone, per validator")
    if all("syncLimitPerValidator" in c for c in clusters):
        ax.plot(n, [c["syncLimitPerValidator"] for c in clusters], marker="v", linestyle=":",
                label="LevelDB synced batches alone, per validator")
    ax.set_xlabel("validators (all on this machine)")
    ax.set_ylabel("transactions per second")
    ax.set_xticks(n)
    ax.set_title("Throughput against consortium size, beside the machine's limits")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    stamp(fig, meta)
    save(fig, out, "throughput-vs-validators.png")


def soak_plot(soak, out):
    samples = soak["samples"]
    t = [s["seconds"] / 60 for s in samples]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i in range(len(samples[0]["residentMiB"])):
        ax.plot(t, [s["residentMiB"][i] for s in samples], label=f"v{i} resident")
    ax.plot(t, [s["stateTreeMiB"] for s in samples], color="black", linestyle="--", label="state tree (per node)")
    beyond = [sum(s["anonymousMiB"]) / len(s["anonymousMiB"]) - s["stateTreeMiB"] for s in samples]
    ax.plot(t, beyond, color="purple", linewidth=2, label="anonymous less the state tree (mean of the nodes)")
    if all("stateCacheMiB" in s for s in samples):
        ax.plot(t, [s["stateCacheMiB"] for s in samples], color="grey", linestyle=":", label="state cache (per node)")
    ax.set_xlabel("minutes")
    ax.set_ylabel("MiB")
    ax.set_title(f"Soak: {soak['rate']} tx/s offered to {soak['validators']} validators; "
                 f"RSS {soak['residentSlope']:+.2f} MiB/min, tree {soak['stateTreeSlope']:+.2f}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    stamp(fig, soak)
    save(fig, out, "soak-memory.png")


def foundation_plots(run, out):
    rows = {r["name"]: r["value"] for r in run["rows"]}
    sizes, series = [], {}
    for name, value in rows.items():
        m = re.match(r"ABE (encrypt|decrypt), (\d+)-attribute (AND|OR)$", name)
        if m:
            series.setdefault(f"{m.group(1)} {m.group(3)}", {})[int(m.group(2))] = value
            sizes.append(int(m.group(2)))
    if series:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, points in sorted(series.items()):
            xs = sorted(points)
            ax.plot(xs, [points[x] for x in xs], marker="o", label=label)
        ax.set_xlabel("attributes in the policy (two authorities)")
        ax.set_ylabel("ms")
        ax.set_xticks(sorted(set(sizes)))
        ax.set_title("ABE (RW15 on BLS12-381): time against policy size")
        ax.legend()
        ax.grid(alpha=0.3)
        stamp(fig, run)
        save(fig, out, "abe-vs-policy.png")
    blob = {}
    patterns = (("upload", r"shadow upload over HTTP, "), ("download", r"shadow download over HTTP, "),
                ("upload ceiling (SHA3 + LevelDB puts)", r"\s*ceiling: SHA3 \+ raw LevelDB puts, "),
                ("download ceiling (LevelDB gets + SHA3)", r"\s*ceiling: raw LevelDB gets \+ SHA3, "))
    for name, value in rows.items():
        for label, prefix in patterns:
            m = re.match(prefix + r"(\d+) (KiB|MiB)$", name)
            if m:
                size = float(m.group(1)) * (1 if m.group(2) == "KiB" else 1024)
                blob.setdefault(label, {})[size] = value
    if blob:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, points in sorted(blob.items()):
            xs = sorted(points)
            ax.plot(xs, [points[x] for x in xs], marker="o", linestyle="--" if "ceiling" in label else "-", label=label)
        ax.set_xscale("log")
        ax.set_xlabel("payload, KiB (log)")
        ax.set_ylabel("MB/s")
        ax.set_title("Shadow blobs: MB/s against size, beside the SHA3 + LevelDB ceiling")
        ax.legend()
        ax.grid(alpha=0.3, which="both")
        stamp(fig, run)
        save(fig, out, "blob-vs-size.png")


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main():
    results, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    clusters = load(os.path.join(results, "cluster.json"))
    if clusters:
        cluster_plots(clusters, out)
    soak = load(os.path.join(results, "soak.json"))
    if soak and soak.get("samples"):
        soak_plot(soak, out)
    for name in ("foundation.json", "pairing-abe.json"):
        run = load(os.path.join(results, name))
        if isinstance(run, dict) and run.get("rows"):
            foundation_plots(run, out)


if __name__ == "__main__":
    main()
