"""``zkmargin demo``: the main job on bundled example data."""

from __future__ import annotations

import click

from .. import api


@click.command()
def demo() -> None:
    """Prove and verify range and Sigma proofs, try to cheat, and say what happened."""
    report = api.demo_crypto()
    for line in report.lines:
        click.echo(line)
    if not report.ok:
        raise SystemExit(1)
