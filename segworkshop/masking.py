"""Secrets in engine settings, found by parsing (not by pattern) and kept out of every message.

Standard library only, so that the CLI can redact an error without loading Ibis.

* :func:`mask` shows a URL with its userinfo password, every query parameter (``?password=``, ``?sslpassword=``,
  ``?token=``) and every ``;key=value`` parameter (Spark Connect's ``sc://host:15002/;token=...``) whose key names a
  secret as ``***``. The userinfo ends at the last ``@`` before the host, so a password holding ``/ # ? @`` (which
  RFC 3986 says must be percent-encoded, but often is not) is masked whole.
* :func:`secret_values` collects the secret values of an engine setting (the URL's, any key naming a secret in a
  mapping, recursively, and the values of the ``${VAR}``\\ s in those places); :func:`remember` keeps them for the
  process, and :func:`redact` replaces every one of them in any text (an engine's error echoing the URL).
* :func:`split_url` is the parse itself, shared by the engine to connect (with the parts percent-decoded).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, quote_plus, unquote, unquote_plus

MASK = "***"
# a key names a secret when it contains one of these (password, passwd, pwd, sslpassword, token, api_key,
# client_secret, credentials_info, private_key, authorization, auth_token, ...)
SECRET_WORDS = ("pass", "pwd", "token", "secret", "key", "credential", "auth", "signature", "cookie", "bearer")
MIN_REDACTED = 3  # shorter values are not replaced in free text (they would shred every message)
_VAR = re.compile(r"\$\{(\w+)\}")
_HOST = re.compile(r"(\[[^\]/?#@]*\]|[\w.\-~%${}]*)(:[\w${}]*)?(?=[/?#;]|$)")
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][\w+.\-]*://[^\s'\"<>]+")
_KNOWN: set[str] = set()


def is_secret_key(key: object) -> bool:
    """Whether a setting's name says its value is a secret (case and separators ignored)."""
    name = re.sub(r"[^a-z]", "", str(key).lower())
    return any(word in name for word in SECRET_WORDS)


@dataclass
class URLParts:
    """A URL split as :func:`split_url` reads it; every part as written (not decoded)."""

    scheme: str
    user: str | None
    password: str | None
    host: str
    tail: str  # path, ;parameters, ?query and #fragment, as written

    def params(self) -> list[tuple[str, str]]:
        """The ``;key=value`` and ``?key=value&...`` parameters of the tail, as written (a secret's value runs
        to the next parameter, so a token holding ``? # /`` is one value)."""
        return [(k, v) for k, v, _ in _scan(self.tail)]


def split_url(url: str) -> URLParts | None:
    """``scheme://user:password@host:port/path;params?query#fragment`` split robustly: the userinfo ends at the
    last ``@`` that is followed by a host (not the first ``/``), so a password with ``/ # ? @`` in it stays whole.
    None when ``url`` has no ``://``."""
    scheme, sep, rest = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][\w+.\-]*", scheme):
        return None
    standard = re.split(r"[/?#]", rest, maxsplit=1)[0]  # the authority as urllib reads it
    colon = standard.split("@", 1)[0].partition(":")[2]
    userinfo_broken = "@" not in standard and colon != "" and not colon.isdigit()
    at = -1
    for i in reversed([i for i, c in enumerate(rest) if c == "@"]):
        if not _HOST.match(rest, i + 1):
            continue
        if i < len(standard) or "=" not in rest[:i] or userinfo_broken:
            at = i
            break
    userinfo, after = (rest[:at], rest[at + 1 :]) if at >= 0 else (None, rest)
    match = _HOST.match(after)
    end = match.end() if match else len(re.split(r"[/?#;]", after, maxsplit=1)[0])
    user = password = None
    if userinfo is not None:
        user, colon_sep, password = userinfo.partition(":")
        password = password if colon_sep else None
    return URLParts(scheme, user, password, after[:end], after[end:])


def mask(text: str) -> str:
    """A URL (or a bare name) with every secret in it shown as ``***``: the userinfo password, each query or
    ``;`` parameter whose key names a secret; then any remembered secret value (:func:`redact`)."""
    text = str(text)
    parts = split_url(text)
    if parts is None:
        head, tail = re.split(r"(?=[;?])", text, maxsplit=1) if re.search(r"[;?]", text) else (text, "")
        return _replace_known(head + _mask_tail(tail), _KNOWN)
    userinfo = ""
    if parts.user is not None:
        userinfo = parts.user + (f":{MASK}" if parts.password is not None else "") + "@"
    shown = f"{parts.scheme}://{userinfo}{parts.host}{_mask_tail(parts.tail)}"
    return _replace_known(shown, _KNOWN)


def mask_setting(value: object, key: object = None) -> object:
    """An engine setting (a URL, or a mapping of options, nested) with every secret masked: a key naming a secret
    has its whole value (a ``credentials_info`` mapping too) replaced by ``***``; URLs are masked by :func:`mask`."""
    if key is not None and is_secret_key(key):
        return MASK
    if isinstance(value, Mapping):
        return {k: mask_setting(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_setting(v) for v in value]
    if isinstance(value, str):
        return mask(value)
    return value


def secret_values(setting: object, environ: Mapping[str, str] | None = None) -> set[str]:
    """Every secret value an engine setting holds, as written and as used: the URL's password and secret
    parameters (raw and percent-decoded), every string under a key naming a secret (recursively), and the value of
    each ``${VAR}`` found in those places or in the URL's userinfo."""
    env = os.environ if environ is None else environ
    found: set[str] = set()

    def add(value: str) -> None:
        for var in _VAR.findall(value):
            if env.get(var):
                found.add(env[var])
        expanded = _VAR.sub(lambda m: env.get(m.group(1), m.group(0)), value)
        for v in (value, expanded, unquote(value), unquote(expanded), unquote_plus(expanded)):
            if v and not _VAR.fullmatch(v):
                found.add(v)

    def leaves(value: object) -> Iterable[str]:
        if isinstance(value, Mapping):
            for v in value.values():
                yield from leaves(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                yield from leaves(v)
        elif value is not None:
            yield str(value)

    def walk(value: object, key: object = None) -> None:
        if key is not None and is_secret_key(key):
            for leaf in leaves(value):
                add(leaf)
            if isinstance(value, Mapping):  # as an error may quote it whole
                found.update({json.dumps(value), repr(dict(value)), str(dict(value))})
        elif isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            # parsed as written (a ${VAR} is then one whole value); parsed once more expanded only when the
            # variables make the URL itself (`engine: ${DATABASE_URL}`), since a value's own `&` or `;` would
            # otherwise split it into pieces
            written = split_url(value)
            urls = [value]
            if written is None or _VAR.search(written.scheme + written.host):
                urls.append(_VAR.sub(lambda m: env.get(m.group(1), m.group(0)), value))
            for url in urls:
                parts = split_url(url)
                if parts and (parts.password or _VAR.search(parts.user or "")):
                    add(parts.password or "")
                    add(parts.user or "") if _VAR.search(parts.user or "") else None
                tail = parts.tail if parts else url[min([url.find(c) for c in ";?" if c in url] or [len(url)]) :]
                for k, v, _ in _scan(tail):
                    if is_secret_key(unquote(k)) and v:
                        add(v)

    walk(setting)
    return found


def remember(setting: object) -> set[str]:
    """Collect the secrets of an engine setting once, for :func:`redact` and :func:`mask` in this process."""
    values = secret_values(setting)
    _KNOWN.update(values)
    return values


def redact(text: object, setting: object = None) -> str:
    """``text`` with every secret value of ``setting`` (and every remembered one) replaced by ``***``, in the forms
    an error may quote it (as is, percent-encoded, repr- or JSON-escaped, line by line for a key), and every URL in
    it masked. What every message that may quote an engine goes through."""
    known = set(_KNOWN) | (secret_values(setting) if setting is not None else set())
    text = _replace_known(str(text), known)
    return _URL_IN_TEXT.sub(lambda m: mask(m.group(0)), text)


def _forms(value: str) -> set[str]:
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value), json.dumps(value)[1:-1]}
    forms.add(repr(value)[1:-1])
    forms.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 8)
    return {f for f in forms if len(f) >= MIN_REDACTED}


def _replace_known(text: str, known: Iterable[str]) -> str:
    forms = set()
    for value in known:
        forms |= _forms(value)
    for form in sorted(forms, key=len, reverse=True):  # the longest first: a value holding another stays whole
        text = text.replace(form, MASK)
    return text


def _scan(tail: str) -> list[tuple[str, str, tuple[int, int]]]:
    """The ``key=value`` parameters of a URL's tail, with the span of each value. Parameters start after ``;``,
    ``?``, ``&`` or ``#``; a value runs to the next delimiter, except a secret's, which also takes the pieces after
    ``? # & ;`` that are not themselves ``key=value`` (a token or password written with those characters)."""
    pieces = re.split(r"([;?&#])", tail)
    found = []
    pos = len(pieces[0])
    i = 1
    while i < len(pieces) - 1:
        piece = pieces[i + 1]
        start = pos + 1
        pos = start + len(piece)
        i += 2
        key, eq, _ = piece.partition("=")
        if not eq or not key:
            continue
        end = pos
        if is_secret_key(unquote(key)):
            while i < len(pieces) - 1 and not re.match(r"[\w.\-%]+=", pieces[i + 1]):
                end = pos = pos + 1 + len(pieces[i + 1])
                i += 2
        found.append((key, tail[start + len(key) + 1 : end], (start + len(key) + 1, end)))
    return found


def _mask_tail(tail: str) -> str:
    out, last = [], 0
    for key, _, (start, end) in _scan(tail):
        if is_secret_key(unquote(key)):
            out += [tail[last:start], MASK]
            last = end
    return "".join(out) + tail[last:]
