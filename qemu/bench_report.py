#!/usr/bin/env python3
"""`make bench`'s report, from the figures a bench run recorded.

    bench_report.py RAW.tsv... --tsv OUT.tsv --markdown OUT.md --svg OUT.svg [--command CMD]

Each RAW.tsv holds one figure per line: TOPOLOGY REP DRIVER MEASURE VALUE
UNIT (qemu/scenarios/bench*.sh). For each topology and measure this takes
the median of each driver's repetitions and their spread ((max - min) /
median), and the ratio rrxe/rdma_rxe of the medians, judged against the
goals (bandwidth at least 2x, latency at most 0.5x; rrxe's write bandwidth
at 64 KiB at least 0.8x TCP's over the same path). It writes the table as
TSV and markdown (printed too) and draws the bandwidths by message size of
both drivers with the TCP and UDP ceilings as an SVG chart.
"""
import argparse
import collections
import math
import statistics
import sys

DRIVERS = ("rrxe", "rxe")
OPS = ("send", "write", "read")
SIZES = ((4096, "4k"), (65536, "64k"), (1048576, "1024k"))


def load(paths):
    """{(topology, measure): {driver: [values]}} and {measure: unit}, in file order."""
    figures = collections.OrderedDict()
    units = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                fields = line.rstrip("\n").split("\t")
                if len(fields) != 6:
                    continue
                topology, _rep, driver, measure, value, unit = fields
                try:
                    number = float(value)
                except ValueError:
                    continue
                figures.setdefault((topology, measure), {}).setdefault(driver, []).append(number)
                units[measure] = unit
    return figures, units


def summary(values):
    """(median, spread) of a driver's repetitions; spread as a fraction of the median."""
    if not values:
        return None, None
    median = statistics.median(values)
    spread = (max(values) - min(values)) / median if median else 0.0
    return median, spread


def goal(measure, ratio):
    """The goal for a measure's ratio rrxe/rdma_rxe, and whether it is met."""
    if ratio is None:
        return "", None
    if "_lat" in measure:
        return "<= 0.5", ratio <= 0.5
    if measure.startswith("ib_") and "_bw" in measure:
        return ">= 2", ratio >= 2.0
    return "", None


def table(figures, units):
    rows = []
    for (topology, measure), by_driver in figures.items():
        if "ceiling" in by_driver:
            median, spread = summary(by_driver["ceiling"])
            rows.append(dict(topology=topology, measure=measure, unit=units[measure],
                             ceiling=(median, spread, len(by_driver["ceiling"]))))
            continue
        row = dict(topology=topology, measure=measure, unit=units[measure])
        for driver in DRIVERS:
            values = by_driver.get(driver, [])
            median, spread = summary(values)
            row[driver] = (median, spread, len(values))
        a, b = row["rrxe"][0], row["rxe"][0]
        row["ratio"] = a / b if a is not None and b else None
        row["goal"], row["met"] = goal(measure, row["ratio"])
        rows.append(row)
    # rrxe's 64 KiB write bandwidth against TCP's, per topology.
    for topology in sorted({r["topology"] for r in rows}):
        tcp = next((r for r in rows if r["topology"] == topology and r["measure"] == "iperf3-tcp"),
                   None)
        write = next((r for r in rows if r["topology"] == topology
                      and r["measure"] == "ib_write_bw-64k"), None)
        if tcp and write and write["rrxe"][0] is not None and tcp["ceiling"][0]:
            fraction = write["rrxe"][0] / tcp["ceiling"][0]
            rows.append(dict(topology=topology, measure="rrxe ib_write_bw-64k / TCP",
                             unit="ratio", fraction=fraction, goal=">= 0.8",
                             met=fraction >= 0.8))
    return rows


def fmt(value):
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def cell(summary_):
    median, spread, n = summary_
    if median is None:
        return "-"
    return f"{fmt(median)} ±{spread * 100:.0f}% (n={n})"


def markdown(rows):
    out = ["| topology | measure | unit | rrxe | rdma_rxe | rrxe/rdma_rxe | goal | met |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        met = {True: "yes", False: "no", None: ""}[r.get("met")]
        if "ceiling" in r:
            out.append(f"| {r['topology']} | {r['measure']} (ceiling) | {r['unit']} | "
                       f"{cell(r['ceiling'])} | | | | |")
        elif "fraction" in r:
            out.append(f"| {r['topology']} | {r['measure']} | ratio | | | "
                       f"{r['fraction']:.2f} | {r['goal']} | {met} |")
        else:
            ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
            out.append(f"| {r['topology']} | {r['measure']} | {r['unit']} | {cell(r['rrxe'])} | "
                       f"{cell(r['rxe'])} | {ratio} | {r['goal']} | {met} |")
    return "\n".join(out) + "\n"


def tsv(rows):
    out = ["topology\tmeasure\tunit\trrxe_median\trrxe_spread\trrxe_n\trxe_median\trxe_spread"
           "\trxe_n\tratio\tgoal\tmet"]
    for r in rows:
        if "ceiling" in r:
            m, s, n = r["ceiling"]
            out.append(f"{r['topology']}\t{r['measure']}\t{r['unit']}\t{m}\t{s:.3f}\t{n}"
                       "\t\t\t\t\t\t")
        elif "fraction" in r:
            out.append(f"{r['topology']}\t{r['measure']}\t{r['unit']}\t\t\t\t\t\t\t"
                       f"{r['fraction']:.3f}\t{r['goal']}\t{r['met']}")
        else:
            cells = []
            for d in DRIVERS:
                m, s, n = r[d]
                cells += ["" if m is None else str(m), "" if s is None else f"{s:.3f}", str(n)]
            ratio = "" if r["ratio"] is None else f"{r['ratio']:.3f}"
            met = "" if r["met"] is None else str(r["met"])
            out.append("\t".join([r["topology"], r["measure"], r["unit"], *cells, ratio,
                                  r["goal"], met]))
    return "\n".join(out) + "\n"


def svg(rows, command):
    """Bandwidth by message size, one panel per operation and topology: both drivers'
    medians, and the TCP and UDP ceilings as dashed lines; logarithmic bandwidth axis."""
    topologies = sorted({r["topology"] for r in rows})
    lookup = {(r["topology"], r["measure"]): r for r in rows}
    values = [r[d][0] for r in rows if "rrxe" in r for d in DRIVERS if r[d][0]]
    values += [r["ceiling"][0] for r in rows if "ceiling" in r
               and r["measure"].startswith("iperf3") and r["ceiling"][0]]
    if not values:
        return None
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    pw, ph, ml, mt = 240, 200, 60, 40
    width = ml + len(OPS) * (pw + 30) + 150
    height = mt + len(topologies) * (ph + 60) + 30
    colours = {"rrxe": "#c0392b", "rxe": "#2471a3", "iperf3-tcp": "#555", "iperf3-udp": "#999"}
    names = {"rrxe": "rrxe", "rxe": "rdma_rxe", "iperf3-tcp": "TCP (iperf3)",
             "iperf3-udp": "UDP (iperf3)"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{ml}" y="18" font-size="13">Bandwidth by message size, medians '
           f'(MiB/s, log scale)</text>']

    def y_of(v, top):
        return top + ph - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * ph

    for ti, topology in enumerate(topologies):
        top = mt + ti * (ph + 60)
        for oi, op in enumerate(OPS):
            left = ml + oi * (pw + 30)
            out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" '
                       f'stroke="#ccc"/>')
            out.append(f'<text x="{left}" y="{top - 6}">{topology}: ib_{op}_bw</text>')
            decade = lo
            while decade <= hi:
                y = y_of(decade, top)
                out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                           f'stroke="#eee"/>')
                if oi == 0:
                    out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                               f'{fmt(decade)}</text>')
                decade *= 10
            xs = [left + 20 + i * (pw - 40) / (len(SIZES) - 1) for i in range(len(SIZES))]
            for x, (_, label) in zip(xs, SIZES):
                out.append(f'<text x="{x:.1f}" y="{top + ph + 14}" text-anchor="middle">'
                           f'{label.replace("1024k", "1M")}</text>')
            for ceiling in ("iperf3-tcp", "iperf3-udp"):
                r = lookup.get((topology, ceiling))
                if r and r["ceiling"][0]:
                    y = y_of(r["ceiling"][0], top)
                    out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                               f'stroke="{colours[ceiling]}" stroke-dasharray="4 3"/>')
            for driver in DRIVERS:
                points = []
                for x, (_, label) in zip(xs, SIZES):
                    r = lookup.get((topology, f"ib_{op}_bw-{label}"))
                    if r and r[driver][0]:
                        points.append((x, y_of(r[driver][0], top)))
                if points:
                    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
                    out.append(f'<polyline points="{path}" fill="none" '
                               f'stroke="{colours[driver]}" stroke-width="2"/>')
                    for x, y in points:
                        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" '
                                   f'fill="{colours[driver]}"/>')
    lx = ml + len(OPS) * (pw + 30)
    for i, key in enumerate(("rrxe", "rxe", "iperf3-tcp", "iperf3-udp")):
        y = mt + 10 + i * 18
        dash = ' stroke-dasharray="4 3"' if key.startswith("iperf3") else ""
        out.append(f'<line x1="{lx}" x2="{lx + 20}" y1="{y}" y2="{y}" stroke="{colours[key]}" '
                   f'stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 26}" y="{y + 4}">{names[key]}</text>')
    if command:
        out.append(f'<text x="{ml}" y="{height - 8}" fill="#666">{command}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("raw", nargs="+")
    p.add_argument("--tsv", required=True)
    p.add_argument("--markdown", required=True)
    p.add_argument("--svg", required=True)
    p.add_argument("--command", default="")
    args = p.parse_args()
    figures, units = load(args.raw)
    if not figures:
        print("no figures recorded", file=sys.stderr)
        return 1
    rows = table(figures, units)
    text = markdown(rows)
    with open(args.markdown, "w") as f:
        f.write(text)
    with open(args.tsv, "w") as f:
        f.write(tsv(rows))
    chart = svg(rows, args.command)
    if chart:
        with open(args.svg, "w") as f:
            f.write(chart)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
