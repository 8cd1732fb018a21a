"""The allow-list every shared page goes through: what a report's body may contain, and nothing else.

A report page carries data (a workshop title, event names and column values from an export, what participants
typed). Each value is escaped where it meets HTML (:mod:`segworkshop.show`), and on top of that every page body
goes through :func:`clean_html`: nh3 (the Python binding of the Rust ammonia sanitizer, html5ever's parser: the
browser's own tokenising, namespace-aware, so ``<svg>``/``<math>`` confusion and unclosed tags cannot smuggle
markup past it) with an explicit allow-list built from what rendered pages really hold:

* prose and tables: headings, paragraphs, emphasis, code, lists, tables, ``div``/``span`` with a class,
  ``details``/``summary``;
* charts: the inline SVG that vl-convert draws (``svg``, ``g``, ``path``, ``rect``, ``line``, ``text`` …) with
  their presentation attributes; a paint or clip reference may only point inside the page (``url(#id)``);
* links: only to a fragment of the page (``#the-baseline``) or to another page of the same report
  (``03_segments.html``); no scheme (``javascript:``, ``data:``, ``http:``), no ``//host``, no path.

Left out on purpose: every ``on*`` handler, ``style`` attributes (nothing we render needs one: pandas' header
``text-align`` is overridden by the page's CSS), ``<style>`` blocks in content (removed with their text: the
page template carries all the CSS), ``<script>``, ``<meta>``, ``<base>``, ``<link>``, ``<iframe>``, ``<object>``,
``<embed>``, ``<form>`` and its controls, ``<img>`` (nothing we render is an image), ``<use>``/``<image>``/
``<foreignObject>``/``<a>`` in SVG, and ``id`` outside headings and SVG clip paths (no DOM clobbering).
"""

from __future__ import annotations

import re

import nh3

# prose, tables and our own page furniture (nav is the template's, never content's)
_HTML_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "b", "strong", "i", "em", "u", "s", "small", "sub",
    "sup", "code", "pre", "kbd", "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody",
    "tfoot", "tr", "th", "td", "caption", "colgroup", "col", "div", "span", "a", "details", "summary",
}  # fmt: skip
# what vl-convert's SVG charts are made of (resvg-free: plain SVG 1.1 shapes and text)
_SVG_TAGS = {
    "svg", "g", "path", "rect", "line", "polyline", "polygon", "circle", "ellipse", "text", "tspan", "title",
    "desc", "defs", "clipPath", "linearGradient", "radialGradient", "stop",
}  # fmt: skip
TAGS = frozenset(_HTML_TAGS | _SVG_TAGS)
# removed with everything inside them (the others not allowed are unwrapped: their text stays, as text)
DROPPED_WITH_CONTENT = frozenset({"script", "style", "template", "noscript", "iframe", "object", "textarea", "title"})

_PRESENTATION = {
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity", "stroke-dasharray",
    "stroke-dashoffset", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "opacity", "transform",
    "display", "visibility", "pointer-events", "clip-path", "clip-rule", "font-family", "font-size",
    "font-style", "font-weight", "text-anchor", "dominant-baseline", "alignment-baseline", "letter-spacing",
    "shape-rendering", "text-rendering", "paint-order",
}  # fmt: skip
_ARIA = {"role", "aria-label", "aria-hidden", "aria-roledescription"}
_GEOMETRY = {
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "width",
    "height",
    "rx",
    "ry",
    "cx",
    "cy",
    "r",
    "d",
    "points",
    "dx",
    "dy",
}

ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "title"},
    **{h: {"id"} for h in ("h1", "h2", "h3", "h4", "h5", "h6")},
    "a": {"href"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
    "col": {"span"},
    "ol": {"start"},
    "details": {"open"},
    "svg": {"viewBox", "width", "height", "version", "xmlns", "preserveAspectRatio"} | _PRESENTATION | _ARIA,
    "clipPath": {"id", "clipPathUnits"},
    "linearGradient": {"id", "x1", "y1", "x2", "y2", "gradientUnits", "gradientTransform"},
    "radialGradient": {"id", "cx", "cy", "r", "fx", "fy", "gradientUnits", "gradientTransform"},
    "stop": {"offset", "stop-color", "stop-opacity"},
    **{t: _PRESENTATION | _ARIA | _GEOMETRY for t in ("g", "path", "rect", "line", "polyline", "polygon")},
    **{t: _PRESENTATION | _ARIA | _GEOMETRY for t in ("circle", "ellipse", "text", "tspan")},
}

# a link to a fragment of this page, or to another page of this report (a bare file name, optional fragment)
_OWN_LINK = re.compile(r"#[^\s\"'<>\\]*|[A-Za-z0-9_][A-Za-z0-9_.-]*\.html(#[^\s\"'<>\\]*)?")
_LOCAL_REF = re.compile(r"url\(\s*#[A-Za-z0-9_:.-]+\s*\)")
_ID = re.compile(r"[A-Za-z0-9_.,:%'()·-]+")  # what nbconvert makes of our headings: no spaces, no quotes


def _attribute(tag: str, name: str, value: str) -> str | None:
    if name == "href":
        return value if _OWN_LINK.fullmatch(value.strip()) else None
    if name == "id":
        return value if _ID.fullmatch(value) else None
    lowered = value.lower()
    if "url(" in lowered or "\\" in value:  # a paint/clip reference: only to an element of this page
        return value if _LOCAL_REF.fullmatch(value.strip()) else None
    if "javascript:" in lowered.replace(" ", "") or "expression(" in lowered:
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT - TAGS),
    attributes={k: set(v) for k, v in ATTRIBUTES.items()},
    attribute_filter=_attribute,
    strip_comments=True,
    link_rel=None,  # only links to our own pages survive: nothing to protect from an opener
    url_schemes=set(),  # no absolute URL at all (relative ones are checked by _attribute)
)


def clean_html(fragment: str) -> str:
    """``fragment`` with only the allow-listed markup kept (text stays, escaped; scripts and styles go)."""
    return _CLEANER.clean(fragment)
