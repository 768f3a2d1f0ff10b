"""The audit report: one self-contained HTML page an auditor can hand to anyone.

``render_audit(report)`` fills ``templates/audit.html.j2`` (jinja2, autoescaped) with what the
audit checked and found: the venue, its key's fingerprint, the epoch, the root hash, the tree;
every check with its result and time; per asset what was proven about the reserves; every
failure, named; and plots drawn with matplotlib as inline SVG (text as paths): the reserves'
coverage per asset, the proven addresses' balances by chain, and the leaves verified over time.
Nothing on the page is fetched: no script, font, style sheet or image comes from elsewhere.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .auditor import audit_result
from .fileio import atomic_write_text
from .formats.verdicts import AuditResult
from .liabilities.audit import AuditReport


def _figure(width: float, height: float) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.fonttype"] = "path"  # text drawn as paths: no font to fetch
    plt.rcParams["svg.hashsalt"] = "zkmargin"  # stable element ids
    fig, ax = plt.subplots(figsize=(width, height), dpi=96)
    return fig, ax


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def coverage_plot(doc: AuditResult) -> str:
    """Per asset: with revealed totals, the reserve ratio against ρ; otherwise what backs each
    reserve: proven on chain, declared off chain, or only stated."""
    cols = doc.columns
    fig, ax = _figure(7.0, 0.45 * len(cols) + 1.2)
    names = [c.symbol for c in cols]
    num, den = (int(x) for x in doc.min_ratio.split("/"))
    if doc.totals_revealed:
        ratios = [float(c.ratio_percent) if c.ratio_percent else 0.0 for c in cols]
        ax.barh(names, ratios, color="#2b7a4b")
        ax.axvline(100 * num / den, color="#b03030", linestyle="--", label="proven minimum")
        if max(ratios, default=0) > 1000:
            ax.set_xscale("log")
        ax.set_xlabel("reserve ÷ liabilities (%; no bar: nothing owed)")
        ax.legend(loc="lower right")
    else:
        proven, declared, stated = [], [], []
        for c in cols:
            reserve = float(c.reserve) or 1.0
            p = float(c.proven_on_chain or 0) / reserve * 100
            d = float(c.declared_off_chain or 0) / reserve * 100
            p, d = min(p, 100.0), min(d, 100.0 - min(p, 100.0))
            proven.append(p)
            declared.append(d)
            stated.append(max(0.0, 100.0 - p - d))
        ax.barh(names, proven, color="#2b7a4b", label="proven on chain")
        ax.barh(names, declared, left=proven, color="#d9a400", label="declared off chain")
        left = [p + d for p, d in zip(proven, declared, strict=True)]
        ax.barh(names, stated, left=left, color="#b8b8b8", label="stated only")
        ax.set_xlim(0, 100)
        rho = "" if doc.min_ratio == "1/1" else f"{doc.min_ratio} × "
        ax.set_xlabel(f"share of each reserve (each reserve ≥ {rho}its liabilities, proven)")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Reserves per asset")
    return _svg(fig)


def addresses_plot(doc: AuditResult) -> str | None:
    """The proven addresses' balances, by chain (one bar per address, in its asset)."""
    if not doc.addresses:
        return None
    rows = sorted(doc.addresses, key=lambda a: (a.chain, a.asset, a.address))
    fig, ax = _figure(7.0, 0.35 * len(rows) + 1.2)
    chains = sorted({a.chain for a in rows})
    palette = ["#1f5fa8", "#2b7a4b", "#d9a400", "#8a3fa0", "#b03030"]
    colour = {c: palette[k % len(palette)] for k, c in enumerate(chains)}
    labels = [f"{a.chain} {a.asset} {a.address[:10]}…{a.address[-6:]}" for a in rows]
    ax.barh(labels, [float(a.amount) for a in rows], color=[colour[a.chain] for a in rows])
    ax.set_xscale("symlog")
    ax.set_xlabel("balance at the snapshot height (asset units)")
    ax.set_title("Proof of assets: balances by chain and address")
    return _svg(fig)


def timeline_plot(report: AuditReport) -> str | None:
    """Leaves verified over the audit's time."""
    if len(report.timeline) < 2:
        return None
    fig, ax = _figure(7.0, 2.6)
    ax.plot([t for t, _ in report.timeline], [n for _, n in report.timeline], color="#1f5fa8")
    ax.set_xlabel("seconds")
    ax.set_ylabel("leaves verified")
    ax.set_title("Leaves verified during the audit")
    return _svg(fig)


def render_audit(report: AuditReport, *, strict: bool = False) -> str:
    """The audit report page (HTML text)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    doc = audit_result(report, strict=strict)
    env = Environment(
        loader=PackageLoader("zkmargin", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("audit.html.j2")
    return template.render(
        doc=doc,
        coverage=coverage_plot(doc) if doc.columns else None,
        addresses=addresses_plot(doc),
        timeline=timeline_plot(report),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_audit_report(report: AuditReport, path: str | Path, *, strict: bool = False) -> Path:
    """Write the page to ``path`` atomically."""
    atomic_write_text(Path(path), render_audit(report, strict=strict))
    return Path(path)
