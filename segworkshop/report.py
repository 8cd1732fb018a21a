"""Reports: run every step notebook headless with papermill, render each as one self-contained HTML page.

* papermill executes a copy of each notebook with the workshop's parameters and ``interactive = False`` (the
  notebooks then read the journal and draw charts as inline SVG);
* nbconvert's ``basic`` template renders the outputs only (code cells hidden); every body (each step's, and the
  index's) goes through the allow-list of :func:`segworkshop.sanitize.clean_html` (no script, handler, ``<style>``,
  ``<meta>``, frame, form, or link outside the report survives), then into our own page with its CSS inline (the
  template carries all of it, including :data:`segworkshop.show.STYLE`'s classes): no CDN, no font or image
  fetched from anywhere, so a page opens offline, anywhere;
* a failing notebook does not stop the others: its page and the index say which step failed and why; data the
  summary cannot read (a missing file, an absent success event) is said in the index too, never a missing index;
* ``index.html`` puts the readout first, links every step, says when and on what data the report ran, and what
  changed since the previous run: computed by :mod:`segworkshop.changes` (the units whose success window closed
  since the previous run's data end against the units that run judged, baseline and every segment value,
  Benjamini–Hochberg over all rows), or why the runs cannot be compared; this module only renders it;
* ``summary.json`` records the run for the next one (:func:`segworkshop.changes.record`: data end, definition
  and fingerprint, counts with groups under the privacy threshold left out) and the changes shown.

Why SVG and not inline JavaScript: vega + vega-lite + vega-embed inlined weigh about 1 MB per page; a chart as
SVG weighs a few kB, draws without running anything, prints, and survives any mail filter. Tooltips are the
only loss, and the live notebooks keep them.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, first_line
from .sanitize import clean_html
from .version import __version__

if TYPE_CHECKING:
    from .changes import Changes

NOTEBOOKS = Path(str(files("segworkshop.notebooks")))  # notebooks/ in the repository, package data in the wheel
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
.sw-table {font-size: 14px} .sw-note {color: #555; font-size: 13px} .sw-warn {color: #8a4b00; font-size: 14px}
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
    data_error: str = ""  # why the data could not be summarised (the index says it too), "" when it could

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps) and not self.data_error


def step_notebooks(only: Sequence[str] | None = None, folder: Path = NOTEBOOKS) -> list[Path]:
    """The step notebooks in order; ``only`` selects by number or name part (``02``, ``success``)."""
    books = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not books:
        raise ConfigError(f"no step notebooks found in {folder}.")
    if only:
        chosen = [b for b in books if any(o in b.stem for o in only)]
        if not chosen:
            raise ConfigError(f"`only=` {' '.join(only)} matches no step; steps: {', '.join(b.stem for b in books)}.")
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
    started_s = started.isoformat(timespec="seconds")
    work: queue.SimpleQueue[Path] = queue.SimpleQueue()
    for book in books:
        work.put(book)

    def worker() -> list[StepResult]:
        """One kernel running step notebooks from the queue until it is empty (report.py's docstring)."""
        done = []
        with _Kernel() as kernel:
            while True:
                try:
                    book = work.get_nowait()
                except queue.Empty:
                    return done
                say(f"running {book.stem}")
                result = _execute_and_render(kernel, book, yaml, out, config.title)
                say(f"{book.stem}: {'ok' if result.ok else 'FAILED: ' + result.error} ({result.seconds:.1f} s)")
                done.append(result)

    kernels = max(1, min(jobs, len(books)))
    with ThreadPoolExecutor(max_workers=kernels + 1) as pool:
        # the summary (and what changed since the previous run) is read in this process while the kernels
        # run the steps: the engine works without the GIL, so the two overlap on a machine's cores
        summary_job = pool.submit(_summary_and_previous, out, yaml, started_s)
        ran = [pool.submit(worker) for _ in range(kernels)]
        order = {b: i for i, b in enumerate(books)}
        steps = sorted((r for job in ran for r in job.result()), key=lambda r: order[_book_of(r, books)])
        summary, previous, changed = summary_job.result()
    result = RunResult(out=out, started=started_s, steps=steps)
    summary["steps"] = [asdict(s) for s in steps]
    result.data_error = summary.get("error", "")
    (out / SUMMARY).write_text(json.dumps(summary, indent=1, default=str))
    _write_index(out, config.title, summary, previous, changed, result)
    say(f"wrote {out / 'index.html'}")
    return result


def _book_of(result: StepResult, books: list[Path]) -> Path:
    return next(b for b in books if b.stem == result.notebook)


RESET_TAG = "segworkshop-reset"
KERNEL_ARGUMENTS = [
    # the kernel's own log (e.g. ipykernel 7's "running over TCP without encryption" on a local, short-lived
    # kernel) is noise on the terminal; its errors still show
    "--IPKernelApp.log_level=ERROR",
]


class _Kernel:
    """One Python kernel that runs step notebooks one after another.

    Starting a kernel and importing the analysis stack cost seconds per notebook, and the steps show many of
    the same results; in one kernel both are paid once, and the results are computed once (memo.py: a headless
    Session shares the workshop its kernel already opened, keyed on the configuration, the journal's
    decisions and the files). Each notebook starts with an empty namespace (``%reset -f``, a cell of its own
    that is not rendered), so no step can read another's variables. A kernel that died is started again for
    the next notebook.
    """

    def __init__(self) -> None:
        self.km: Any = None

    def __enter__(self) -> _Kernel:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def manager(self) -> Any:
        """The running kernel's manager, started if need be. An asynchronous manager, as nbclient's own: with
        it nbclient notices a kernel that died while running a cell (with a blocking one it waits forever)."""
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        if self.km is not None and not run_sync(self.km.is_alive)():
            self.stop()
        if self.km is None:
            self.km = AsyncKernelManager(kernel_name="python3")
            run_sync(self.km.start_kernel)(extra_arguments=KERNEL_ARGUMENTS)
        return self.km

    def stop(self) -> None:
        from jupyter_core.utils import run_sync

        if self.km is not None:
            with contextlib.suppress(Exception):
                run_sync(self.km.shutdown_kernel)(now=True)
        self.km = None


def _with_reset(book: Path) -> Any:
    """The notebook, with a first cell that empties the kernel's namespace (not rendered)."""
    import nbformat

    nb = nbformat.read(str(book), as_version=4)
    reset = nbformat.v4.new_code_cell("get_ipython().run_line_magic('reset', '-f')")
    reset.metadata["tags"] = [RESET_TAG]
    nb.cells.insert(0, reset)
    return nb


def _execute_and_render(kernel: _Kernel, book: Path, yaml: Path, out: Path, title: str) -> StepResult:
    import time

    import papermill as pm

    started = time.perf_counter()
    executed = out / "executed" / book.name
    error = ""
    try:
        km = kernel.manager()
        pm.execute_notebook(
            _with_reset(book),
            str(executed),
            parameters={"workshop": str(yaml), "participant": "", "interactive": False},
            # no cwd=: papermill would chdir the whole process, and two notebooks starting at once leave it in the
            # wrong folder (their save-and-restore interleaves); every path given to a notebook is absolute
            progress_bar=False,
            log_output=False,
            kernel_name="python3",
            km=km,  # this kernel, kept running for the next step (nbclient leaves a kernel it did not start)
        )
    except pm.PapermillExecutionError as exc:
        error = f"{exc.ename}: {first_line(exc.evalue)}"
    except Exception as exc:  # the kernel died, or the notebook could not be read: still a report
        error = f"{type(exc).__name__}: {first_line(str(exc))}"
        kernel.stop()  # whatever state it is in: the next step starts a fresh one
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
    skip = {"papermill-error-cell-tag", "injected-parameters", "parameters", RESET_TAG}
    nb.cells = [c for c in nb.cells if not skip & set(c.get("metadata", {}).get("tags", []))]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "error" and not _is_noise(o)]
    exporter = HTMLExporter(
        template_name="basic", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(nb)
    return body


def _is_noise(output: dict) -> bool:
    """Stream output (warnings, logs) is not part of a report."""
    return output.get("output_type") == "stream"


def _page(title: str, body: str, nav: bool) -> str:
    """The page around ``body``: ``body`` goes through the allow-list here, so nothing reaches a page unsanitized
    (the head, the CSS and the nav link are ours, added after)."""
    body = clean_html(body)
    links = '<nav><a href="index.html">← Readout and all steps</a></nav>' if nav else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style></head>"
        f"<body><main>{links}{body}</main></body></html>\n"
    )


# --------------------------------------------------------------------------- summary and changes


def _summary_and_previous(out: Path, yaml: Path, started: str) -> tuple[dict[str, Any], dict | None, Changes | None]:
    """summary.json's content (without the steps, filled in when they are done), the previous run's summary,
    and the changes since it."""
    previous = _previous_summary(out, str(yaml))
    summary, changed = _summary(yaml, started, previous)
    return summary, previous, changed


def _summary(yaml: Path, started: str, previous: dict[str, Any] | None) -> tuple[dict[str, Any], Changes | None]:
    """What summary.json records of this run (changes.record: data end, definition, privacy-safe counts) and
    the changes since ``previous`` (changes.since); both computed in segworkshop.changes."""
    from .changes import record, since
    from .engine import describe as describe_engine
    from .session import Session
    from .sources import describe_source

    summary: dict[str, Any] = {
        "workshop": str(yaml),
        "title": "",
        "started": started,
        "version": __version__,
        "data": "?",
        "engine": "?",
        "success": "?",
        "steps": [],
    }
    changed = None
    try:
        # each of these reads the config, the journal or the data: whatever breaks, the index still renders and
        # says why (the README's promise), and the steps' pages say where
        session = Session(yaml)
        summary["journal_skipped"] = session.journal.skipped_note() or ""
        summary["title"] = session.config.title
        summary["data"] = describe_source(session.config.data.events, session.config.base_dir)
        summary["engine"] = describe_engine(session.config.engine)  # never a password
        summary["success"] = session.config.success.describe()
        ws = session.workshop
        summary.update(record(ws))
    except Exception as exc:  # the data itself is broken
        summary["error"] = first_line(exc)
        return summary, None
    try:
        changed = since(ws, previous)
        summary["changes"] = changed.to_dict()
    except Exception as exc:
        summary["changes"] = {"status": "error", "message": first_line(str(exc))}
    return summary, changed


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


def _write_index(
    out: Path, title: str, summary: dict, previous: dict | None, changed: Changes | None, result: RunResult
) -> None:
    esc = html.escape
    parts = [f"<h1>{esc(title)}</h1>"]
    parts.append(
        f'<p class="meta">Report of {esc(summary["started"])} (UTC) · data: {esc(str(summary["data"]))} · '
        f"engine: {esc(summary['engine'])} · success: {esc(summary['success'])} · segworkshop {esc(__version__)}</p>"
    )
    if "error" in summary:
        parts.append(f'<div class="failed"><b>The data could not be analysed:</b> {esc(summary["error"])}</div>')
    if summary.get("journal_skipped"):
        parts.append(f'<div class="failed"><b>Journal:</b> {esc(summary["journal_skipped"])}</div>')
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
    parts.append(_changes_section(summary, previous, changed))
    readout = next((s for s in result.steps if s.notebook.endswith("readout") and s.ok), None)
    if readout:
        body = (out / readout.page).read_text(encoding="utf-8")
        inner = body.split("</nav>", 1)[-1].rsplit("</main>", 1)[0]
        parts.append("<h2>Readout</h2>" + inner)
    (out / "index.html").write_text(_page(title, "".join(parts), nav=False), encoding="utf-8")


def _changes_section(summary: dict, previous: dict | None, changed: Changes | None) -> str:
    """The "since the previous run" section: the table and exactly what it compares, or why there is none."""
    esc = html.escape
    if previous is None:
        return "<h2>Since the previous run</h2><p>No earlier report of this workshop next to this one: changes start with the next run.</p>"
    parts = [f"<h2>Since the previous run ({esc(str(previous.get('started', '?')))})</h2>"]
    if changed is None:
        why = summary.get("changes", {}).get("message") or summary.get("error") or "the data could not be analysed"
        parts.append(f"<p>Changes could not be computed: {esc(why)}</p>")
        return "".join(parts)
    if not changed.compared:
        parts.append(f"<p>{esc(changed.message)}</p>")
        return "".join(parts)
    parts.append(f"<p>{esc(changed.message)}</p>")
    parts.append(_changes_table(changed))
    hidden = changed.hidden_comparisons
    also = f", {hidden} of them hidden above for privacy" if hidden else ""
    skipped = (
        f" Cohort segments ({esc(', '.join(changed.skipped_segments))}) are not compared: the new and earlier "
        "cohorts are themselves split by start date."
        if changed.skipped_segments
        else ""
    )
    parts.append(
        '<p class="meta">The two groups share no unit, and the earlier cohorts\' outcomes were final by the '
        "previous run's data end (their success windows had closed), so success windows maturing on the same units cannot "
        "show up here as a change. Both groups are counted on this run's data, among units whose success window "
        "has closed; for a behaviour segment, among units not yet successful at the end of its window (as in the "
        "segment step). Each row: Fisher's exact test (two-sided) of the new cohort's rate against the earlier "
        "cohorts' rate; 95% CI: Newcombe's interval for the difference, new minus earlier (not adjusted for "
        f"multiplicity). q: Benjamini–Hochberg over all {changed.comparisons} comparisons computed (the baseline "
        f"and every segment value with {esc(changed.unit)}s in both cohorts{also}); beyond noise means "
        f"q ≤ {changed.alpha:g}. Rows with fewer than {changed.min_units} {esc(changed.unit)}s in either cohort are "
        "hidden, and a second row of the same segment when only one would be. A change says that the newest "
        f"{esc(changed.unit)}s differ from the earlier ones, not why (a campaign, a season and a product change "
        f"look alike here).{skipped}</p>"
    )
    for note in changed.notes:
        parts.append(f'<p class="meta">{esc(note)}</p>')
    return "".join(parts)


def _changes_table(changed: Changes) -> str:
    esc = html.escape

    def pct(v: Any) -> str:
        return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1%}"

    def pts(v: Any) -> str:
        return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v * 100:+.1f}"

    def num(v: Any) -> str:
        return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2g}"

    out = [
        "<table><tr><th>segment</th><th>value</th><th>earlier cohorts</th><th>new cohort</th><th>change</th>"
        "<th>95% CI</th><th>p</th><th>q (BH)</th><th>beyond noise?</th></tr>"
    ]
    hidden_note = f"fewer than {changed.min_units} {changed.unit}s in a cohort (hidden)"
    for r in changed.shareable().to_dict("records"):
        label = f"<td>{esc(str(r['segment']))}</td><td>{esc(str(r['value']))}</td>"
        if r["hidden"]:
            out.append(f'<tr>{label}<td colspan="7" class="meta">{esc(hidden_note)}</td></tr>')
            continue
        if math.isnan(r["p_value"]):
            flag = "not in both cohorts"
        else:
            flag = '<span class="bad">yes</span>' if r["beyond_noise"] else "no"
        out.append(
            f"<tr>{label}<td>{pct(r['earlier_rate'])} of {int(r['earlier_units']):,}</td>"
            f"<td>{pct(r['new_rate'])} of {int(r['new_units']):,}</td><td>{pts(r['change'])} pts</td>"
            f"<td>[{pts(r['ci_low'])}, {pts(r['ci_high'])}]</td><td>{num(r['p_value'])}</td>"
            f"<td>{num(r['q_value'])}</td><td>{flag}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)
