"""Every benchmark in one run, with one summary table, JSON results and a chart each.

Runs, against the simulator on loopback (nothing touches the network): decoding, the
governor, harvesting, resolving DOIs and client overhead, each side by side with the peers
where they apply (habanero, crossrefapi, a plain httpx + aiolimiter loop). Results go to
``--out`` (default ``benchmarks/results/``): one ``<name>.json`` per scenario, a PNG chart
per scenario when matplotlib is installed (``pip install matplotlib``), and ``summary.md``.

Run: ``python benchmarks/run_all.py [--quick] [--out DIR]`` (``--quick``: smaller sizes and
shorter runs, a few minutes; the full run takes about 25 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import decode
import dois
import governor
import harvest
import overhead
from _common import machine, table

HERE = Path(__file__).resolve().parent


def _bar_chart(path: Path, title: str, labels: list[str], values: list[float], unit: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # charts are optional: the JSON and the tables carry the numbers
        return
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(labels)))
    ax.barh(
        labels,
        values,
        color=[
            "#1f77b4" if ("crossref-async" in lb or lb.startswith("decode_")) else "#aaaaaa"
            for lb in labels
        ],
    )
    ax.set_xlabel(unit)
    ax.set_title(title)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _overhead_chart(path: Path, title: str, rows: list[dict[str, Any]]) -> None:
    """One panel per scenario (request kind x requests in flight): requests/s per client,
    each bar labelled with the client's CPU time per request."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    scenarios = list(dict.fromkeys((r["kind"], r["in_flight"]) for r in rows))
    heights = [sum(1 for r in rows if (r["kind"], r["in_flight"]) == s) for s in scenarios]
    fig, axes = plt.subplots(
        len(scenarios),
        1,
        figsize=(8, 1.0 + 0.4 * sum(heights) + 0.6 * len(scenarios)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, (kind, in_flight) in zip(axes[:, 0], scenarios, strict=True):
        mine = [r for r in rows if (r["kind"], r["in_flight"]) == (kind, in_flight)]
        values = [r["per_second"] for r in mine]
        ax.barh(
            [r["client"] for r in mine],
            values,
            color=["#1f77b4" if r["client"] == "crossref-async" else "#aaaaaa" for r in mine],
        )
        for y, r in enumerate(mine):
            ax.text(
                r["per_second"],
                y,
                f" {r['per_second']:,.0f}/s, {r['cpu_us']:,.0f} µs CPU/req",
                va="center",
                fontsize=8,
            )
        ax.set_xlim(0, 1.45 * max(values))
        ax.set_title(f"{kind}, {in_flight} in flight", fontsize=10)
        ax.invert_yaxis()
    axes[-1, 0].set_xlabel("requests/s")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@dataclass(frozen=True)
class _View:
    """How one scenario's results become summary rows and a chart."""

    title: str
    unit: str
    label: Callable[[dict[str, Any]], str]
    value: Callable[[dict[str, Any]], float]
    result: Callable[[dict[str, Any]], str]
    detail: Callable[[dict[str, Any]], str]
    keep: Callable[[dict[str, Any]], bool] = lambda r: True
    summarize: Callable[[dict[str, Any]], bool] = lambda r: True  # which kept rows to list
    chart: Callable[[Path, str, list[dict[str, Any]]], None] | None = None  # else bars


VIEWS: dict[str, _View] = {
    "decode": _View(
        "Decoding work-list pages", "records/s",
        label=lambda r: r["decoder"],
        value=lambda r: r["records_per_second"],
        result=lambda r: f"{r['records_per_second']:,.0f} records/s",
        detail=lambda r: f"{r['vs_json_loads']:.1f}x json.loads",
    ),
    "governor": _View(
        "Share of the advertised rate used", "%",
        label=lambda r: f"{r['client']} / {r['pool']}",
        value=lambda r: 100 * r["share"],
        result=lambda r: f"{100 * r['share']:.1f}% of limit",
        detail=lambda r: f"{r['rejected_429']} 429s",
        keep=lambda r: r["comply_s"] is None,
    ),
    "harvest": _View(
        "Harvest throughput", "records/s",
        label=lambda r: f"{r['client']} / {r['records']:,}",
        value=lambda r: r["records_per_second"],
        result=lambda r: f"{r['records_per_second']:,.0f} records/s",
        detail=lambda r: f"{r['peak_rss_mb']:,.0f} MB peak",
    ),
    "dois": _View(
        "Resolving DOIs (seconds, lower is better)", "seconds",
        label=lambda r: r["client"],
        value=lambda r: r["seconds"],
        result=lambda r: f"{r['seconds']:,.1f} s",
        detail=lambda r: f"{r['correct']:,}/{r['dois']:,} correct",
    ),
    "overhead": _View(
        "Requests/s with nothing in the way (simulator in another process)", "requests/s",
        label=lambda r: f"{r['client']} / {r['kind']}, {r['in_flight']} in flight",
        value=lambda r: r["per_second"],
        result=lambda r: (
            f"{r['per_second']:,.0f} requests/s ({100 * r['vs_bare']:.0f}% of bare httpx)"
        ),
        detail=lambda r: (
            f"{r['cpu_us']:,.0f} µs CPU/request ({100 * r['cpu_vs_bare']:.0f}% of bare httpx)"
        ),
        summarize=lambda r: r["client"] == "crossref-async" and r["in_flight"] > 1,
        chart=lambda path, title, rows: _overhead_chart(path, title, rows),
    ),
}  # fmt: skip


def _summaries(results: dict[str, dict[str, Any]], out: Path) -> list[list[object]]:
    rows: list[list[object]] = []
    for name, data in results.items():
        view = VIEWS[name]
        kept = [r for r in data["results"] if view.keep(r)]
        rows += [
            [name, view.label(r), view.result(r), view.detail(r)] for r in kept if view.summarize(r)
        ]
        if view.chart is not None:
            view.chart(out / f"{name}.png", view.title, kept)
            continue
        labels = [view.label(r) for r in kept]
        _bar_chart(
            out / f"{name}.png", view.title, labels, [view.value(r) for r in kept], view.unit
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, shorter runs")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    parser.add_argument(
        "--only", help="comma-separated subset of decode,governor,harvest,dois,overhead"
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    q = args.quick
    plans: dict[str, tuple[Callable[[list[str]], dict[str, Any]], list[str]]] = {
        "decode": (decode.main, ["--repeat", "5" if q else "20"]),
        "governor": (governor.main, ["--seconds", "4" if q else "8"]),
        "harvest": (harvest.main, ["--quick"] if q else []),
        "dois": (
            dois.main,
            [
                "--dois",
                "2000" if q else "10000",
                "--peer-dois",
                "100" if q else "500",
                "--batch-sizes",
                "",
            ],
        ),
        "overhead": (
            overhead.main,
            ["--requests", "300", "--seconds", "0.4", "--repeat", "2"] if q else [],
        ),
    }
    chosen = args.only.split(",") if args.only else list(plans)
    results: dict[str, dict[str, Any]] = {}
    for name in chosen:
        func, extra = plans[name]
        print(f"\n=== {name} ===", flush=True)
        results[name] = func([*extra, "--json", str(out)])
        (out / f"{name}.json").write_text(json.dumps(results[name], indent=2, default=str))
    # --only reruns some scenarios: the summary still covers every result in the folder.
    for name in plans:
        saved = out / f"{name}.json"
        if name not in results and saved.exists():
            results[name] = json.loads(saved.read_text())
    results = {name: results[name] for name in plans if name in results}
    rows = _summaries(results, out)
    summary = f"machine: {machine()}\n\n" + table(["scenario", "client", "result", "detail"], rows)
    (out / "summary.md").write_text(summary + "\n")
    print("\n" + summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
