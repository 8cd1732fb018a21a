"""Stored XSS (issue 17): a shared report runs nothing and fetches nothing, whatever the data and the team typed.

Fast tests of the allow-list (:func:`segworkshop.sanitize.clean_html`) run in the inner loop. The e2e test builds
one report of a workshop whose title, success event name, ``where:`` value, hypotheses (text and author) and
findings carry every payload of :data:`PAYLOADS`, and opens each page in Debian's headless chromium through
Playwright: no dialog, no ``window.pwned``, no request outside the report's folder, no active markup in the DOM,
and each payload still readable as text where it belongs. A workshop whose data breaks after init still gets an
index that says why.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml as pyyaml
from parity import chromium

from segworkshop.sanitize import clean_html

EVIL = "http://evil.test"
# every payload either sets window.pwned, opens a dialog, or fetches from evil.test when it is live
PAYLOADS = [
    "<script>window.pwned=1</script>",
    f'<img src="{EVIL}/img" onerror="window.pwned=1">',
    "<svg onload=window.pwned=1>",
    "[x](javascript:window.pwned=1)",
    '<a href="javascript:window.pwned=1">js link</a>',
    f'<meta http-equiv="refresh" content="0;url={EVIL}/meta">',
    '<iframe srcdoc="<script>parent.pwned=1</script>"></iframe>',
    f'<base href="{EVIL}/">',
    f'<div style="background:url({EVIL}/css)">styled</div>',
    f"<style>@import url({EVIL}/import.css); body {{background: url({EVIL}/bg)}}</style>",
    f'<form action="{EVIL}/form"><input name=q autofocus onfocus=window.pwned=1><button>go</button></form>',
    "<a href=//evil.test/proto>protocol-relative</a>",
    "&lt;script&gt;window.pwned=1&lt;/script&gt;",
    f"<img src={EVIL}/ent onerror=&#119;indow.pwned=1>",
    '<a href="jav&#x09;ascript:window.pwned=1">tab in scheme</a>',
    f'<img src="{EVIL}/unclosed" onerror="window.pwned=1"',
    f"<math><mtext><table><mglyph><style><img src={EVIL}/math onerror=window.pwned=1>",
    f"<svg><style><img src={EVIL}/svgstyle onerror=window.pwned=1></style></svg>",
    f'<object data="{EVIL}/object"></object><embed src="{EVIL}/embed">',
    f'<link rel=stylesheet href="{EVIL}/link.css">',
    "<details open ontoggle=window.pwned=1><summary>s</summary></details>",
    '"><script>window.pwned=1</script>',
    '<svg><a xlink:href="javascript:window.pwned=1"><text x=1 y=10>svg link</text></a></svg>',
    f'<svg><use href="{EVIL}/use.svg#x"/></svg>',
    f'<noscript><p title="</noscript><img src={EVIL}/noscript onerror=window.pwned=1>">',
    "</title><script>window.pwned=1</script>",
    f"**<img src={EVIL}/md onerror=window.pwned=1>**",
    f"![x]({EVIL}/md.png)",
    f'<img srcset="{EVIL}/srcset 1x"><video><source onerror="window.pwned=1"></video>',
    "<body onload=window.pwned=1><input autofocus onfocus=alert(1)>",
    f'<svg><rect width=9 height=9 fill="url({EVIL}/paint#p)"/></svg>',
    "<!--<img src=x onerror=window.pwned=1>--><scr<script>ipt>window.pwned=1</script>",
]
ALL = " ~ ".join(PAYLOADS)
LIVE = re.compile(r"<(script|iframe|object|embed|meta|base|form|input|link|style|img|video|math|use)\b|\son\w+=", re.I)


# --------------------------------------------------------------------------- the allow-list, fast


@pytest.mark.parametrize("payload", PAYLOADS)
def test_clean_html_leaves_nothing_active(payload):
    cleaned = clean_html(f"<p>{payload}</p>")
    assert not LIVE.search(cleaned), cleaned
    markup = re.sub(r">[^<]*<", "><", cleaned)  # the tags alone: a payload may only survive as text
    assert "javascript" not in markup.lower() and "evil.test" not in markup and "url(" not in markup, cleaned


def test_clean_html_keeps_what_pages_use():
    page = (
        '<h2 id="The-baseline">The baseline<a class="anchor-link" href="#The-baseline">¶</a></h2>'
        '<p class="sw-note">note <b>bold</b> <em>em</em> <code>x</code></p><ul><li>one</li></ul>'
        '<table class="sw-table"><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>'
        '<details><summary>more</summary><div class="x"><span class="y">in</span></div></details>'
        '<a href="03_segments.html">next</a> <a href="08_readout.html#Verdicts">verdicts</a>'
    )
    assert clean_html(page) == page


@pytest.mark.parametrize(
    "href", ["https://evil.test/", "//evil.test/x", "/etc/passwd", "../other/index.html", "data:text/html,hi", "x.js"]
)
def test_links_leave_the_report_never(href):
    assert "href" not in clean_html(f'<a href="{href}">x</a>')


def test_show_style_moves_to_the_page_template():
    from segworkshop import report, show

    cleaned = clean_html(show.STYLE + '<p class="sw-note">kept</p>')
    assert cleaned == '<p class="sw-note">kept</p>'
    for cls in (".sw-table", ".sw-note", ".sw-warn"):
        assert cls in report.PAGE_CSS


def test_a_real_chart_keeps_its_svg():
    import pandas as pd
    import vl_convert as vlc

    from segworkshop.charts import rate_chart

    rows = pd.DataFrame(
        {
            "segment": ["channel"] * 3,
            "value": ["email", "organic", "paid"],
            "units": [200, 200, 200],
            "successes": [70, 30, 31],
            "rate": [0.35, 0.15, 0.155],
            "ci_low": [0.29, 0.11, 0.11],
            "ci_high": [0.42, 0.21, 0.21],
        }
    )
    chart = rate_chart(rows, baseline=0.22, title="Success rate")  # what page 03 draws
    svg = vlc.vegalite_to_svg(chart.to_dict())
    cleaned = clean_html(f'<div class="sw-chart">{svg}</div>')
    assert re.search(r'<svg[^>]*viewBox="0 0 \d+ \d+"', cleaned)
    assert cleaned.count("<path") == svg.count("<path") > 0
    assert cleaned.count("<text") == svg.count("<text") > 0
    assert re.search(r'<path[^>]* d="M', cleaned)
    for kept in ("transform=", "fill=", "stroke="):
        assert kept in cleaned, kept


# --------------------------------------------------------------------------- the whole report, in chromium


def _hostile_workshop(folder: Path) -> Path:
    """The small workshop with every payload in the title, the success event's name and a ``where:`` value, and
    in the journal: one hypothesis (text and author) and one finding per payload."""
    import pandas as pd
    from conftest import write_small_workshop

    from segworkshop.journal import Journal

    yaml = write_small_workshop(folder)
    events = pd.read_csv(folder / "events.csv")
    bought = events.event == "purchase"
    events.loc[bought, "event"] = ALL
    events["coupon"] = None
    events.loc[bought, "coupon"] = ALL
    events.to_csv(folder / "events.csv", index=False)
    config = pyyaml.safe_load(yaml.read_text())
    config["title"] = ALL
    config["success"] = {"event": ALL, "where": {"coupon": ALL}, "within_days": 14}
    yaml.write_text(pyyaml.safe_dump(config, allow_unicode=True))
    j = Journal(folder)
    for i, payload in enumerate(PAYLOADS):
        author = f"{payload} #{i}"
        j.add(
            "hypotheses",
            author,
            {"segment": "channel", "value": "email", "versus": None, "direction": "more", "expected_lift": None}
            | {"text": payload},
        )
        j.add("findings", author, {"text": payload, "tag": "learning", "about": payload})
    return yaml


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    from segworkshop import report

    yaml = _hostile_workshop(tmp_path_factory.mktemp("xss") / "workshop")
    # this checkout's notebooks (segworkshop.notebooks may resolve to another tree's in an editable install)
    books = Path(__file__).resolve().parents[1] / "notebooks"
    result = report.run(yaml, yaml.parent / "reports" / "one", jobs=2, notebooks=books)
    return yaml, result


def _text(s: str) -> str:
    return re.sub(r"\s+", " ", s)


@pytest.mark.e2e
def test_payloads_run_nothing_fetch_nothing_and_read_as_text(hostile_report):
    from playwright.sync_api import sync_playwright

    from segworkshop.config import load_config

    yaml, result = hostile_report
    assert result.ok, [(s.notebook, s.error) for s in result.steps if not s.ok]
    out = result.out
    folder_uri = out.as_uri() + "/"
    pages = sorted(out.glob("*.html"))
    assert len(pages) == 9
    where_text = load_config(yaml).success.steps[0].where[0].describe()  # how the pages quote the where: value
    assert ALL in where_text
    expected = {  # page -> payload texts that must read as text there
        "index.html": [ALL, where_text],
        "02_success.html": [ALL],
        "04_hypotheses.html": PAYLOADS + [f"{p} #{i}" for i, p in enumerate(PAYLOADS)],
        "05_scoop.html": PAYLOADS,
        "08_readout.html": [ALL, *PAYLOADS],
    }
    outside: list[tuple[str, str]] = []
    dialogs: list[tuple[str, str]] = []
    executed: dict[str, int] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium(),
            args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9"],
        )
        try:
            context = browser.new_context()

            def route(r):  # everything outside the report's own folder is recorded and refused
                if r.request.url.startswith(folder_uri):
                    r.continue_()
                else:
                    outside.append((name, r.request.url))
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.on("request", lambda req: None if req.url.startswith(folder_uri) else outside.append((name, req.url)))
            page.on("dialog", lambda d: (dialogs.append((name, d.message)), d.dismiss()))
            for html_page in pages:
                name = html_page.name
                page.goto(html_page.as_uri(), wait_until="load")
                page.wait_for_timeout(400)  # a meta refresh or a deferred handler would fire by now
                assert page.url == html_page.as_uri(), (name, page.url)
                executed[name] = page.evaluate("() => window.pwned === undefined ? 0 : 1")
                active = page.evaluate(
                    """() => [...document.querySelectorAll('*')].flatMap(el => [
                        ...['SCRIPT','IFRAME','OBJECT','EMBED','FORM','INPUT','BASE','LINK','IMG','VIDEO','MATH']
                            .filter(t => el.tagName.toUpperCase() === t).map(t => t),
                        ...[...el.attributes].filter(a => /^on/i.test(a.name) || a.name === 'style'
                            || (a.name !== 'xmlns' && /^\\s*(javascript|data|https?):|^\\s*\\/\\//i.test(a.value))).map(a => el.tagName + ' ' + a.name),
                        ...(el.tagName === 'META' && el.parentElement.tagName !== 'HEAD' ? ['META in body'] : []),
                        ...(el.tagName === 'STYLE' && el.parentElement.tagName !== 'HEAD' ? ['STYLE in body'] : []),
                    ])"""
                )
                assert not active, (name, active[:10])
                text = _text(page.inner_text("body"))
                for needle in expected.get(name, []):
                    assert _text(needle) in text, (name, needle)
        finally:
            browser.close()
    ran = sum(executed.values())
    print(f"payloads tried: {len(PAYLOADS)} in 6 places × {len(pages)} pages; executed: {ran}; fetched: {len(outside)}")
    assert not dialogs, dialogs
    assert ran == 0, executed
    assert not outside, outside[:10]


@pytest.mark.e2e
def test_charts_survive_the_sanitizer(hostile_report):
    _, result = hostile_report
    page = (result.out / "02_success.html").read_text(encoding="utf-8")
    assert re.search(r'<svg class="marks"[^>]*viewBox=', page)
    assert re.search(r'<path[^>]* d="M', page)


# --------------------------------------------------------------------------- data that breaks after init


@pytest.mark.e2e
def test_run_writes_the_index_when_the_data_breaks(small_workshop, tmp_path):
    from click.testing import CliRunner

    from segworkshop.cli import main

    (small_workshop.parent / "events.csv").unlink()  # the export went missing after init
    out = tmp_path / "report"
    ran = CliRunner().invoke(main, ["run", str(small_workshop), "--out", str(out), "--only", "01", "--only", "08"])
    assert ran.exit_code != 0, ran.output
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "The data could not be analysed" in index and "events.csv" in index
    assert "Some steps failed" in index
    summary = json.loads((out / "summary.json").read_text())
    failed = [s for s in summary["steps"] if not s["ok"]]
    assert failed and all(s["error"] for s in failed)
    for s in failed:  # each failed step is listed with its message, escaped
        import html

        assert html.escape(s["error"]) in index or html.escape(s["error"], quote=False) in index, s["error"]
    assert "Traceback" not in index
