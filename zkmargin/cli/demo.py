"""``zkmargin demo``: the main job on bundled example data."""

from __future__ import annotations

import click

from .. import api


@click.command()
def demo() -> None:
    """Margin figures of a synthetic exchange, the trader's proof to a lender, then range and
    Sigma proofs and attempts to cheat them, saying what happened."""
    report = api.demo_margin()
    api.demo_trader(report)
    crypto = api.demo_crypto()
    report.lines.extend(crypto.lines)
    report.ok &= crypto.ok
    for line in report.lines:
        click.echo(line)
    if not report.ok:
        raise SystemExit(1)
