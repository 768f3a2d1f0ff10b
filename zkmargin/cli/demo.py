"""``zkmargin demo``: the main job on bundled example data."""

from __future__ import annotations

import click

from .. import api
from .progress import phases


@click.command()
@click.option(
    "--workers",
    type=click.IntRange(1, 1024),
    default=None,
    help="Local worker processes for the exchange's story (default: one per CPU).",
)
def demo(workers: int | None) -> None:
    """Margin figures of a synthetic exchange, the trader's proof to a lender, the exchange's
    proof of liabilities and reserves, then range and Sigma proofs and attempts to cheat them,
    saying what happened."""
    report = api.DemoReport(echo=click.echo)
    with phases("demo") as progress:
        progress.step("margin figures")
        api.demo_margin(report)
        progress.step("the trader's proof")
        api.demo_trader(report)
        progress.step("a liquidation, proven")
        api.demo_liquidation(report)
        progress.step("the exchange's publication")
        api.demo_exchange(report, workers=workers, progress=progress)
        progress.step("the building blocks")
        api.demo_crypto(report)
    api.demo_summary(report)
    if not report.ok:
        raise SystemExit(1)
