"""Reports: run every step notebook headless with papermill, render each as one self-contained HTML page.

* papermill executes a copy of each notebook with the workshop's parameters and ``interactive = False`` (the
  notebooks then read the journal and draw charts as inline SVG);
* nbconvert's ``basic`` template renders the outputs only (code cells hidden), wrapped in our own page with its
  CSS inline: no script, no CDN, no font or image fetched from anywhere, so a page opens offline, anywhere;
* a failing notebook does not stop the others: its page and the index say which step failed and why;
* ``index.html`` puts the readout first, links every step, says when and on what data the report ran, and what
  changed since the previous run (baseline and per-segment rates, with whether each change is beyond noise).

Why SVG and not inline JavaScript: vega + vega-lite + vega-embed inlined weigh about 1 MB per page; a chart as
SVG weighs a few kB, draws without running anything, prints, and survives any mail filter. Tooltips are the
only loss, and the live notebooks keep them.
"""

from __future__ import annotations

import html
import json
import math
import re
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ConfigError, first_line

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"  # package data: in the wheel too
SUMMARY = "summary.json"

PAGE_CSS = """
body {font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0;
      background: #fafafa}
main {max-width: 1100px; margin: 0 auto; padding: 24px 28px 60px; background: #fff}
nav {font-size: 14px; margin-bottom: 12px} nav a {color: #3b6fb6; margin-right: 12px}
h1 {font-size: 28px; margin: 0.4em 0} h2 {font-size: 21px; margin-top: 1.6em} h3 {font-size: 17px}
table {border-collapse: collapse; margin: 0.5em 0 1em; font-size: 14px}
th {text-align: left; border-bottom: 2px solid #999; padding: 4px 10px}
td {border-bottom: 1px solid #e3e3e3; padding: 4px 10px; vertical-align: top}
svg {max-width: 100%; height: auto}
.failed {background: #fdecea; border-left: 4px solid #b8443d; padding: 10px 14px; margin: 1em 0}
.ok {color: #2e7d32} .bad {color: #b8443d} .meta {color: #555; font-size: 14px}
pre {white-space: pre-wrap}
.jp-OutputPrompt, .jp-InputPrompt, .prompt, .anchor-link {display: none}
"""


@dataclass
class StepResult:
    notebook: str
    title: str
    ok: bool
    page: str
    seconds: float
    error: str = ""
    size_bytes: int = 0


@dataclass
class RunResult:
    out: Path
    started: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)


def step_notebooks(only: Sequence[str] | None = None, folder: Path = NOTEBOOKS) -> list[Path]:
    """The step notebooks in order; ``only`` selects by number or name part (``02``, ``success``)."""
    books = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not books:
        raise ConfigError(f"no step notebooks found in {folder}.")
    if only:
        chosen = [b for b in books if any(o in b.stem for o in only)]
        if not chosen:
            raise ConfigError(f"--only {' '.join(only)} matches no step; steps: {', '.join(b.stem for b in books)}.")
        books = chosen
    return books


def run(
    workshop: str | Path,
    out: str | Path | None = None,
    only: Sequence[str] | None = None,
    jobs: int = 1,
    progress: Callable[[str], None] | None = None,
    notebooks: Path = NOTEBOOKS,
) -> RunResult:
    """Execute and render every step notebook for ``workshop``; returns what happened per step."""
    from .config import load_config

    yaml = Path(workshop)
    yaml = (yaml / "workshop.yaml" if yaml.is_dir() else yaml).resolve()
    config = load_config(yaml)
    started = datetime.now(timezone.utc)
    # absolute: nothing here depends on the working directory (notebooks run with --jobs share this process)
    out = (Path(out) if out else yaml.parent / "reports" / started.strftime("%Y-%m-%d_%H%M%S")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "executed").mkdir(exist_ok=True)
    books = [b.resolve() for b in step_notebooks(only, notebooks)]
    say = progress or (lambda _m: None)

    def one(book: Path) -> StepResult:
        say(f"running {book.stem}")
        result = _execute_and_render(book, yaml, out, config.title)
        say(f"{book.stem}: {'ok' if result.ok else 'FAILED: ' + result.error} ({result.seconds:.1f} s)")
        return result

    if jobs > 1:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            steps = list(pool.map(one, books))
    else:
        steps = [one(b) for b in books]
    result = RunResult(out=out, started=started.isoformat(timespec="seconds"), steps=steps)
    summary = _summary(yaml, result)
    previous = _previous_summary(out, summary["workshop"])
    (out / SUMMARY).write_text(json.dumps(summary, indent=1, default=str))
    _write_index(out, config.title, summary, previous, result)
    say(f"wrote {out / 'index.html'}")
    return result


def _execute_and_render(book: Path, yaml: Path, out: Path, title: str) -> StepResult:
    import time

    import papermill as pm

    started = time.perf_counter()
    executed = out / "executed" / book.name
    error = ""
    try:
        pm.execute_notebook(
            str(book),
            str(executed),
            parameters={"workshop": str(yaml), "participant": "", "interactive": False},
            # no cwd=: papermill would chdir the whole process, and two notebooks starting at once leave it in the
            # wrong folder (their save-and-restore interleaves); every path given to a notebook is absolute
            progress_bar=False,
            log_output=False,
            kernel_name="python3",
            # the kernel's own log (e.g. ipykernel 7's "running over TCP without encryption" on a local,
            # short-lived kernel) is noise on the terminal; its errors still show
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except pm.PapermillExecutionError as exc:
        error = f"{exc.ename}: {first_line(exc.evalue)}"
    except Exception as exc:  # the kernel died, or the notebook could not be read: still a report
        error = f"{type(exc).__name__}: {first_line(str(exc))}"
    page = out / f"{book.stem}.html"
    step_title = _title(book)
    body = _render_body(executed) if executed.exists() else ""
    if error:
        body = (
            f'<div class="failed"><b>This step failed.</b> {html.escape(error)}<br>'
            "The other steps are unaffected. Run the notebook in JupyterLab to see where.</div>" + body
        )
    page.write_text(_page(f"{step_title} · {title}", body, nav=True), encoding="utf-8")
    return StepResult(
        notebook=book.stem,
        title=step_title,
        ok=not error,
        page=page.name,
        seconds=time.perf_counter() - started,
        error=error,
        size_bytes=page.stat().st_size,
    )


def _title(book: Path) -> str:
    nb = json.loads(book.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = "".join(cell.get("source", ""))
            for line in source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return book.stem


def _render_body(executed: Path) -> str:
    """The notebook's outputs and prose as HTML (no code, no prompts, no tracebacks, no scripts)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(executed), as_version=4)
    # papermill's own cells (the error banner, the injected parameters with a random id) are not content
    skip = {"papermill-error-cell-tag", "injected-parameters", "parameters"}
    nb.cells = [c for c in nb.cells if not skip & set(c.get("metadata", {}).get("tags", []))]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "error" and not _is_noise(o)]
    exporter = HTMLExporter(
        template_name="basic", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(nb)
    # defence in depth: no script of any kind survives into a shared page
    return re.sub(r"<script\b[^>]*>.*?</script>", "", body, flags=re.DOTALL | re.IGNORECASE)


def _is_noise(output: dict) -> bool:
    """Stream output (warnings, logs) is not part of a report."""
    return output.get("output_type") == "stream"


def _page(title: str, body: str, nav: bool) -> str:
    links = '<nav><a href="index.html">← Readout and all steps</a></nav>' if nav else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style></head>"
        f"<body><main>{links}{body}</main></body></html>\n"
    )


# --------------------------------------------------------------------------- summary and changes


def _summary(yaml: Path, result: RunResult) -> dict[str, Any]:
    """The numbers the index compares between runs: baseline and every segment value's counts."""
    from .compare import compare
    from .engine import describe as describe_engine
    from .session import Session
    from .sources import describe_source

    session = Session(yaml)
    ws = session.workshop
    summary: dict[str, Any] = {
        "workshop": str(yaml),
        "title": session.config.title,
        "started": result.started,
        "version": __version__,
        "data": describe_source(session.config.data.events, session.config.base_dir),
        "engine": describe_engine(session.config.engine),  # never a password
        "success": session.config.success.describe(),
        "steps": [asdict(s) for s in result.steps],
    }
    try:
        b = ws.baseline()
        summary["baseline"] = {k: b[k] for k in ("units", "successes", "rate")}
        rows = compare(ws, strata=False).rows
        summary["segments"] = [
            {"segment": r.segment, "value": r.value, "units": int(r.units), "successes": int(r.successes)}
            for r in rows.itertuples()
            if r.units >= session.config.privacy_min_units
        ]
    except Exception as exc:  # the data itself is broken: the steps' pages say why; the index still renders
        summary["error"] = first_line(str(exc))
    return summary


def _previous_summary(out: Path, workshop: str) -> dict[str, Any] | None:
    """The latest earlier report of the same workshop next to this one (reports/<date>/summary.json), if any."""
    earlier = []
    for path in out.parent.glob(f"*/{SUMMARY}"):
        if path.parent == out:
            continue
        try:
            summary = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if summary.get("workshop") == workshop:
            earlier.append(summary)
    return max(earlier, key=lambda s: s.get("started", "")) if earlier else None


def changes(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[dict[str, Any]]:
    """Baseline and per-segment rates now vs the previous run, with a two-proportion test of the change.

    The two runs usually share units (fresh data extends the old), so the test treats them as independent
    samples: an approximation that overstates the noise when the overlap is large. Changes are flagged
    "beyond noise" when p < 0.05.
    """
    from .stats import difference_interval, two_proportion_test

    if not previous or "baseline" not in previous or "baseline" not in current:
        return []
    rows = []
    pairs = [("baseline", "", previous["baseline"], current["baseline"])]
    before = {(s["segment"], s["value"]): s for s in previous.get("segments", [])}
    for s in current.get("segments", []):
        if (s["segment"], s["value"]) in before:
            pairs.append((s["segment"], s["value"], before[(s["segment"], s["value"])], s))
    for segment, value, old, new in pairs:
        x0, n0, x1, n1 = old["successes"], old["units"], new["successes"], new["units"]
        if not n0 or not n1:
            continue
        test = two_proportion_test(x1, n1, x0, n0)
        low, high = difference_interval(x1, n1, x0, n0)
        rows.append(
            {
                "segment": segment or "baseline",
                "value": value,
                "before": x0 / n0,
                "now": x1 / n1,
                "change": x1 / n1 - x0 / n0,
                "ci_low": low,
                "ci_high": high,
                "p_value": test.p_value,
                "beyond_noise": test.p_value < 0.05,
            }
        )
    return rows


def _write_index(out: Path, title: str, summary: dict, previous: dict | None, result: RunResult) -> None:
    esc = html.escape
    parts = [f"<h1>{esc(title)}</h1>"]
    parts.append(
        f'<p class="meta">Report of {esc(summary["started"])} (UTC) · data: {esc(str(summary["data"]))} · '
        f"engine: {esc(summary['engine'])} · success: {esc(summary['success'])} · segworkshop {esc(__version__)}</p>"
    )
    if "error" in summary:
        parts.append(f'<div class="failed"><b>The data could not be analysed:</b> {esc(summary["error"])}</div>')
    failed = [s for s in result.steps if not s.ok]
    if failed:
        parts.append(
            '<div class="failed"><b>Some steps failed:</b><ul>'
            + "".join(f'<li><a href="{esc(s.page)}">{esc(s.title)}</a>: {esc(s.error)}</li>' for s in failed)
            + "</ul></div>"
        )
    parts.append("<h2>Steps</h2><ol>")
    for s in result.steps:
        status = '<span class="ok">ok</span>' if s.ok else '<span class="bad">failed</span>'
        parts.append(f'<li><a href="{esc(s.page)}">{esc(s.title)}</a> — {status}</li>')
    parts.append("</ol>")
    rows = changes(previous, summary)
    if previous is not None:
        parts.append(f"<h2>Since the previous run ({esc(str(previous.get('started', '?')))})</h2>")
        if rows:
            parts.append(_changes_table(rows))
            parts.append(
                '<p class="meta">Beyond noise: p &lt; 0.05 in a two-proportion test treating both runs as '
                "independent samples (they overlap when fresh data extends the old, which makes this test "
                "conservative).</p>"
            )
        else:
            parts.append("<p>No comparable numbers in the previous run.</p>")
    readout = next((s for s in result.steps if s.notebook.endswith("readout") and s.ok), None)
    if readout:
        body = (out / readout.page).read_text(encoding="utf-8")
        inner = body.split("</nav>", 1)[-1].rsplit("</main>", 1)[0]
        parts.append("<h2>Readout</h2>" + inner)
    (out / "index.html").write_text(_page(title, "".join(parts), nav=False), encoding="utf-8")


def _changes_table(rows: list[dict[str, Any]]) -> str:
    esc = html.escape

    def pct(v: float) -> str:
        return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1%}"

    out = [
        "<table><tr><th>segment</th><th>value</th><th>before</th><th>now</th><th>change</th>"
        "<th>95% CI</th><th>beyond noise?</th></tr>"
    ]
    for r in rows:
        flag = '<span class="bad">yes</span>' if r["beyond_noise"] else "no"
        out.append(
            f"<tr><td>{esc(str(r['segment']))}</td><td>{esc(str(r['value']))}</td><td>{pct(r['before'])}</td>"
            f"<td>{pct(r['now'])}</td><td>{r['change'] * 100:+.1f} pts</td>"
            f"<td>[{r['ci_low'] * 100:+.1f}, {r['ci_high'] * 100:+.1f}]</td><td>{flag}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def copy_notebooks(folder: Path) -> None:
    """Copy the step notebooks into a workshop folder (for ``segworkshop init``)."""
    target = folder / "notebooks"
    target.mkdir(parents=True, exist_ok=True)
    for book in step_notebooks():
        shutil.copy2(book, target / book.name)
