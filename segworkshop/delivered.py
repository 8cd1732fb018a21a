"""Event files as the vendors deliver them: what to read in a file, a glob or a folder, and how.

:func:`gather` turns what a data source names into one list of files of one kind (parquet, csv or json) that
the engine reads as one table. The layouts it knows, each as its vendor documents it:

* **Amplitude Export API** (https://amplitude.com/docs/apis/analytics/export): "a zipped archive of JSON
  files", one or more per hour, one event per line; the archive's members are gzipped and named
  ``<project_id>/<project_id>_<YYYY-MM-DD>_<H>#<n>.json.gz`` (the docs do not name them; this is what the
  archives hold). The engine cannot read inside a zip, so it is unpacked once into a cache folder
  (``<workshop>/.segworkshop/unpacked/<sha1 of path, size and mtime>/``, written to a temporary folder and
  renamed, reused while the zip is unchanged). A zip saved under a ``.json.gz`` name is found by its first
  bytes. An hour file met twice (two overlapping exports, or a zip and its own unpacked copy) is read once:
  the largest copy of each ``<project_id>_<date>_<hour>#<n>`` file is kept.
* **PostHog batch exports to S3** (https://posthog.com/docs/cdp/batch-exports/s3): files named
  ``<interval start>-<interval end>[-<n>].<parquet|jsonl>[.<gz|br|zst|lz4|sz>]`` and, when files are split,
  ``<interval start>-<interval end>_manifest.json`` (``{"files": [...]}``). A compressed Parquet export is a
  Parquet file with the codec inside it (PostHog's writer passes the compression to the Parquet writer), so it
  is read as Parquet; a Parquet file wrapped whole in a compressor (found by its first bytes: no ``PAR1``) is
  decompressed to the cache. JSON lines in brotli (``.jsonl.br``), which the engine cannot decompress, are
  decompressed to the cache. Manifests are not data: they are left out of a folder's listing.
* **Segment's S3 destination** (https://segment.com/docs/connections/storage/catalog/aws-s3/): "gzipped,
  newline-separated JSON containing the full call", every call type in the same files, under
  ``segment-logs/<source-id>/<received-day epoch ms>/<filename>.gz``. A file whose name does not say what it
  holds (a bare ``.gz``, no ending at all, ``.log``) is sniffed: its compression by its first bytes, then its
  first line must parse as a JSON object. Every row is read, with its ``type`` column.
* **GA4's BigQuery export** (https://support.google.com/analytics/answer/7029846): a table ``events_YYYYMMDD``
  per day and, with streaming export, ``events_intraday_YYYYMMDD``, "deleted at the end of each day once
  events_YYYYMMDD is complete". Exported as files, a shard is a folder (``events_20260105/part-0.parquet``) or a
  file (``events_20260105.parquet``). **The rule:** shards of the same source read as one table, and an
  intraday shard whose day also has a daily shard is dropped (the daily table already holds those events, and
  more), so every event counts once; an intraday shard of a day with no daily shard yet is kept. The same rule
  picks the tables of ``{table: "events_*", database: ga4.duckdb}``.

Files that are not data are left out without a word: names starting with ``.`` or ``_`` (``_SUCCESS``,
``_committed_*``, as Spark and Hadoop skip them), ``.crc`` checksums, ``*manifest*.json`` and
``*schema*.json``, read-me and documentation files. Files of another kind beside the data (a spreadsheet, an
Avro file) are left out too, and named in a :class:`SkippedFilesWarning`. Several files read as one table by
column name (``union_by_name``): hours and shards whose columns differ still line up.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from .errors import DataError

# What a message says can be read.
FORMATS = (
    ".csv/.tsv (.gz), .parquet (also PostHog's .parquet.zst/.gz/.br/.lz4/.sz), .json/.jsonl/.ndjson (.gz/.zst/.br), "
    "an Amplitude Export API .zip, Segment's S3 .gz logs (JSON lines), and tables in a .duckdb file "
    "({table: NAME, database: FILE.duckdb})"
)

_KINDS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".zip": "zip",
    ".duckdb": "duckdb",
    ".db": "duckdb",
    ".ddb": "duckdb",
}
# outer compression by name (".sz": PostHog's snappy, only ever inside Parquet)
_COMPRESSIONS = {
    ".gz": "gzip",
    ".gzip": "gzip",
    ".zst": "zstd",
    ".zstd": "zstd",
    ".br": "brotli",
    ".lz4": "lz4",
    ".bz2": "bz2",
    ".sz": "snappy",
}
_SUFFIX = {"gzip": ".gz", "zstd": ".zst"}  # how the engine tells a compressed file by its name
_READABLE = {"duckdb": {None, "gzip", "zstd"}}  # compressions each engine reads itself (others: gzip)
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\x04\x22\x4d\x18", "lz4"), (b"BZh", "bz2"))
_SNIFFED = {"", ".log", ".txt", ".out", ".data", ".dat"}  # endings whose content says what the file is
_DOCS = {  # documents, checksums, code and configuration: never event data
    *(".md", ".rst", ".pdf", ".html", ".htm", ".doc", ".docx", ".rtf", ".png", ".jpg", ".jpeg", ".gif", ".svg"),
    *(".crc", ".sha1", ".sha256", ".md5", ".sig", ".asc", ".etag"),
    *(".yaml", ".yml", ".toml", ".ini", ".cfg", ".py", ".ipynb", ".sh", ".sql", ".lock", ".pid"),
}
_NOT_DATA = {"thumbs.db", "desktop.ini", "license", "licence", "notice", "changelog"}
_OFFICE = {".xlsx", ".xlsm", ".xls", ".ods", ".numbers"}  # spreadsheets (zips, some of them): not unpacked
_SNIFF_BYTES = 1 << 20

# GA4 shard names: events_20260105, events_intraday_20260105 (a folder, or a file's stem)
_SHARD = re.compile(r"^events_(intraday_)?(\d{8})(?!\d)")
# Amplitude Export API hour files: 187520_2026-01-05_13#0.json.gz
_AMPLITUDE_HOUR = re.compile(r"^\d+_\d{4}-\d{2}-\d{2}_\d{1,2}#\d+\.json(\.gz)?$")


class SkippedFilesWarning(UserWarning):
    """Files beside the data that might be data but are of no kind segworkshop reads."""


@dataclass
class Delivered:
    """What a source names, ready for the engine: ``files`` of one ``kind`` (or none, and why)."""

    kind: str | None  # parquet | csv | json | duckdb, or None: nothing readable
    files: list[str]  # what the engine reads: the delivered files or their unpacked copies
    direct: bool = True  # the delivered files as they are, and nothing an engine's own listing reads left out
    seen: list[str] = field(default_factory=list)  # every file looked at (relative names), for messages
    skipped: list[str] = field(default_factory=list)  # could be data, but of no readable kind
    kinds: dict[str, list[str]] = field(default_factory=dict)  # every readable kind found -> its files
    why: str = ""  # for a single file of no readable kind: what its first bytes are


@dataclass
class _File:
    path: Path
    name: str  # relative to the folder (or the file's own path), for messages and shard names
    kind: str | None  # parquet | csv | json | duckdb | zip | None (unknown) | "meta" (not data)
    wrap: str | None = None  # the compression around the whole file, by its first bytes (or its name: brotli)
    named: str | None = None  # the compression its name says
    why: str = ""


# --------------------------------------------------------------------------- what a file is


def kind_by_name(name: str) -> str | None:
    """The kind a file's name says (``.jsonl.gz`` -> json, ``.parquet.zst`` -> parquet, ``.zip`` -> zip)."""
    inner, _ = _split(Path(name).name.lower())
    return _KINDS.get(Path(inner).suffix)


def _split(lower: str) -> tuple[str, str | None]:
    """A lower-case file name without its compression ending, and that compression."""
    suffix = Path(lower).suffix
    if suffix in _COMPRESSIONS:
        return lower[: -len(suffix)], _COMPRESSIONS[suffix]
    return lower, None


def _not_data(name: str) -> bool:
    """Markers, checksums, manifests and documents: never data, left out without a word."""
    parts = PurePosixPath(name).parts
    if any(p.startswith((".", "_")) for p in parts):  # hidden; _SUCCESS, _committed_*, _manifest.json, __MACOSX
        return True
    lower = parts[-1].lower()
    stem, ext = os.path.splitext(lower)
    if ext in _DOCS or lower in _NOT_DATA or stem in _NOT_DATA or stem.startswith("readme"):
        return True
    return ext == ".json" and ("manifest" in stem or "schema" in stem)


def classify(path: Path, name: str | None = None, explicit: bool = False) -> _File:
    """What one file holds: by its name, checked (and, when the name does not say, found) by its first bytes.

    ``explicit``: the file was named on its own (not listed from a folder), so it is never taken for a marker.
    """
    name = name or path.name
    if not explicit and _not_data(name):
        return _File(path, name, "meta")
    inner, named = _split(Path(name).name.lower())
    ext = Path(inner).suffix
    kind = _KINDS.get(ext)
    if kind == "duckdb":
        return _File(path, name, kind)
    if ext in _OFFICE:
        return _File(path, name, None, why="it is an office document: save the sheet as .csv")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        return _File(path, name, None, why=f"it cannot be opened ({exc.strerror or exc})")
    if not head:
        return _File(path, name, kind if kind != "zip" else None, named=named, why="it is empty")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if zipfile.is_zipfile(path):
            return _File(path, name, "zip")
        if kind in (None, "zip"):
            return _File(path, name, None, why="it starts like a zip file but is not a whole one")
    if _is_parquet(path, head):  # Parquet, whatever the ending (PostHog's .parquet.zst: zstd inside)
        return _File(path, name, "parquet", named=named)
    if kind == "zip":  # e.g. an API's error message saved under the name the export would have had
        return _File(path, name, None, why=f"it is named .zip but is not a zip archive{_glimpse(path)}")
    wrap = next((w for magic, w in _MAGIC if head.startswith(magic)), None)
    if wrap is None and named == "brotli":  # brotli has no magic number: its name is all there is
        wrap = "brotli"
    if kind in ("csv", "json") and ext not in _SNIFFED:
        return _File(path, name, kind, wrap=wrap, named=named)
    if kind == "parquet" and wrap is None:  # named Parquet, neither Parquet nor compressed: the reader says so
        return _File(path, name, kind, named=named)
    # the name does not say (a bare .gz, no ending, .log, .txt), or Parquet wrapped whole: look inside
    sniffed, why = _sniff(path, wrap)
    if sniffed is None and ext == ".txt" and wrap is None:
        sniffed = "csv"  # .txt has always been read as delimited text
    if kind == "parquet" and sniffed != "parquet":
        sniffed, why = None, f"it is named Parquet but is not: {why or 'no PAR1 header'}"
    return _File(path, name, sniffed, wrap=wrap, named=named, why=why)


def _glimpse(path: Path) -> str:
    """': it says "…"' for a file that starts with a line of text, else nothing."""
    with open(path, "rb") as fh:
        line = fh.read(200).split(b"\n", 1)[0].strip()
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return f": it says {text[:80]!r}" if text.isprintable() and text else ""


def _is_parquet(path: Path, head: bytes) -> bool:
    """A Parquet file starts and ends with PAR1."""
    if not head.startswith(b"PAR1"):
        return False
    with open(path, "rb") as fh:
        fh.seek(-4, os.SEEK_END)
        return fh.read(4) == b"PAR1"


def _sniff(path: Path, wrap: str | None) -> tuple[str | None, str]:
    """Parquet, or JSON lines (the first line is a JSON object), by the first bytes once decompressed."""
    how = f"{wrap}-compressed " if wrap else ""
    try:
        with pa.input_stream(str(path), compression=wrap) as stream:
            data = stream.read(_SNIFF_BYTES)
    except (OSError, pa.ArrowException, ValueError):
        return None, f"it does not decompress as {wrap}" if wrap else "it cannot be read"
    if data.startswith(b"PAR1"):
        return "parquet", ""
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    line = text.split(b"\n", 1)[0].strip()
    if text.startswith(b"{"):
        if b"\n" not in text and len(data) >= _SNIFF_BYTES:
            return "json", ""  # one very long first record
        with contextlib.suppress(ValueError):
            if isinstance(json.loads(line), dict):
                return "json", ""
    if text.startswith(b"[") and text[1:].lstrip().startswith((b"{", b"]")):
        return "json", ""  # a JSON array of records
    if wrap and (b"," in line or b"\t" in line) and not line.startswith((b"{", b"[")):
        ending = ".csv" + next(suffix for suffix, w in _COMPRESSIONS.items() if w == wrap)
        return None, f"it is {how}data whose first line is not a JSON object, but looks like CSV: name it {ending}"
    return None, f"it is {how}data whose first line is not a JSON object"


# --------------------------------------------------------------------------- a source's files


def gather(paths: Iterable[Path], root: Path | None, cache: Cache, engine: str, explicit: bool = False) -> Delivered:
    """The files among ``paths`` to read as one table (see the module docstring for the rules).

    ``root`` is the folder they were listed from (names in messages are relative to it), ``cache`` the folder
    for unpacked copies, ``engine`` the Ibis backend's name (what it can decompress itself), ``explicit`` that
    the one path was named on its own (then it is never taken for a marker file).
    """
    files = [classify(p, _relative(p, root), explicit=explicit) for p in paths]
    seen = [f.name for f in files]
    direct = all(f.kind != "meta" or _engine_skips(f.name) for f in files)
    files = [f for f in files if f.kind != "meta"]
    expanded: list[_File] = []
    for f in files:
        if f.kind == "zip":
            members = _zip_members(f, cache)
            if not any(m.kind for m in members):  # one entry for the zip, saying what it holds
                inside = ", ".join(PurePosixPath(m.name).name for m in members[:4]) or "nothing"
                members = [_File(f.path, f.name, None, why=f"it is a zip holding no data files: {inside}")]
            expanded += members
            direct = False
        else:
            expanded.append(f)
    unknown = [f for f in expanded if f.kind is None]
    data = [f for f in expanded if f.kind is not None]
    data = [f for f in data if f.path.stat().st_size > 0] or data  # an empty file adds no rows
    kept = _count_once(data)
    direct = direct and len(kept) == len(data) and not unknown
    kinds: dict[str, list[str]] = {}
    for f in kept:
        kinds.setdefault(f.kind, []).append(f.name)  # type: ignore[arg-type]
    found = Delivered(
        kind=None,
        files=[],
        direct=direct,
        seen=seen,
        skipped=[f.name for f in unknown],
        kinds=kinds,
        why=unknown[0].why if len(unknown) == 1 and not kept else "",
    )
    if len(kinds) != 1:
        return found
    found.kind = next(iter(kinds))
    readable = _READABLE.get(engine, {None, "gzip"})
    for f in kept:
        try:
            target = _readable_copy(f, cache, readable)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(f"{cache.key}: could not decompress {f.path} ({f.wrap}): {exc}") from None
        found.direct = found.direct and target == f.path
        found.files.append(str(target))
    return found


def files_under(folder: Path) -> list[Path]:
    """Every file in a folder and its subfolders, by name; hidden ones (the cache among them) left out."""
    listed = glob.glob(glob.escape(str(folder)) + "/**/*", recursive=True)
    return sorted(Path(f) for f in listed if Path(f).is_file())


def common_root(paths: list[str]) -> Path | None:
    """The folder a glob's matches share (names in messages, and GA4 shard names, are taken below it)."""
    try:
        return Path(os.path.commonpath([str(Path(p).parent) for p in paths]))
    except ValueError:
        return None


def engine_lists_itself(path: Path, listed: list[Path]) -> bool:
    """Whether Spark, given the folder (or glob) itself, reads exactly these files: all directly in it, or all
    in key=value folders of one depth (it searches no other subfolder without recursiveFileLookup, and of
    files beside partition folders it reads one side only)."""
    if not path.is_dir():
        return all(Path(f).is_file() for f in glob.glob(str(path), recursive=True))
    depths = set()
    for f in listed:
        parents = f.relative_to(path).parts[:-1]
        if any("=" not in part for part in parents):
            return False
        depths.add(len(parents))
    return len(depths) <= 1


def union_by_name(parts: list[ir.Table], key: str) -> ir.Table:
    """Ibis tables stacked by column name (for engines without UNION BY NAME); a column one lacks is null."""
    types: dict[str, dt.DataType] = {}
    for part in parts:
        for name, dtype in part.schema().items():
            if name in types and types[name] != dtype:
                raise DataError(f"{key}: column {name!r} is {types[name]} in one table and {dtype} in another.")
            types.setdefault(name, dtype)
    aligned = [
        part.select(**{n: part[n] if n in part.columns else ibis.null().cast(t) for n, t in types.items()})
        for part in parts
    ]
    return ibis.union(*aligned, distinct=False)


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        with contextlib.suppress(ValueError):
            return path.relative_to(root).as_posix()
    return path.name


def _engine_skips(name: str) -> bool:
    """Whether an engine listing the folder itself leaves this file out too (Spark: hidden and _ names)."""
    return any(p.startswith((".", "_")) for p in PurePosixPath(name).parts)


def _count_once(files: list[_File]) -> list[_File]:
    """Every event once: GA4 intraday shards of a day with a daily shard are dropped, and an Amplitude hour
    file met more than once (overlapping exports) is read once, its largest copy."""
    kept = drop_covered_intraday(files, lambda f: f.name)
    best: dict[str, _File] = {}
    for f in kept:
        base = PurePosixPath(f.name).name
        if _AMPLITUDE_HOUR.match(base):
            other = best.get(base)
            if other is None or f.path.stat().st_size > other.path.stat().st_size:
                best[base] = f
    return [
        f
        for f in kept
        if not _AMPLITUDE_HOUR.match(PurePosixPath(f.name).name) or best[PurePosixPath(f.name).name] is f
    ]


def shard_of(name: str) -> tuple[str, bool] | None:
    """The GA4 shard a file or table belongs to: (YYYYMMDD, intraday), by its first folder or name that is one."""
    for part in PurePosixPath(name).parts:
        match = _SHARD.match(part.lower())
        if match:
            return match.group(2), bool(match.group(1))
    return None


def drop_covered_intraday(items: list, name: Callable[[object], str] = str) -> list:
    """``items`` without the GA4 intraday shards (``events_intraday_YYYYMMDD``) of a day that also has a daily
    shard (``events_YYYYMMDD``): the daily table is complete and already holds them. Anything else is kept."""
    shards = [shard_of(name(item)) for item in items]
    daily = {s[0] for s in shards if s and not s[1]}
    return [item for item, s in zip(items, shards, strict=True) if not (s and s[1] and s[0] in daily)]


def matching_tables(tables: Iterable[str], pattern: str) -> list[str]:
    """The tables a pattern (``events_*``) names, by the GA4 shard rule (intraday dropped where a daily is)."""
    return drop_covered_intraday(sorted(t for t in tables if fnmatch.fnmatchcase(t, pattern)))


# --------------------------------------------------------------------------- the cache


class Cache:
    """Where unpacked copies go: ``<base_dir>/.segworkshop``, or the system's temporary folder when that cannot
    be written. Made only when a file needs it."""

    def __init__(self, base_dir: Path, key: str = "data") -> None:
        self.base_dir = base_dir
        self.key = key
        self._root: Path | None = None

    @property
    def root(self) -> Path:
        if self._root is None:
            for root in (self.base_dir / ".segworkshop", Path(tempfile.gettempdir()) / "segworkshop"):
                with contextlib.suppress(OSError):
                    (root / "unpacked").mkdir(parents=True, exist_ok=True)
                    if os.access(root / "unpacked", os.W_OK):
                        self._root = root
                        break
            else:
                raise DataError(
                    f"{self.key}: cannot write an unpacked copy under {self.base_dir / '.segworkshop'} or the "
                    "temporary folder. Make the workshop folder writable."
                )
        return self._root


def _entry(path: Path, cache: Cache, fill: Callable[[Path], None]) -> Path:
    """The cache folder for one delivered file: filled once, reused while the file is unchanged.

    Its name is the sha1 of the file's path, size and modification time; it is filled in a temporary folder
    that is renamed into place, so a reader never sees half of it (two writers: the first rename wins).
    """
    stat = path.stat()
    digest = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    final = cache.root / "unpacked" / digest
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.parent / f".tmp-{digest}-{uuid.uuid4().hex[:8]}"
    temp.mkdir()
    try:
        fill(temp)
        try:
            os.rename(temp, final)
        except OSError:
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return final


def _zip_members(zipped: _File, cache: Cache, depth: int = 0) -> list[_File]:
    """The data files inside a zip, unpacked once into the cache (zips inside it too, two levels)."""

    def fill(folder: Path) -> None:
        with zipfile.ZipFile(zipped.path) as archive:
            for info in archive.infolist():
                relative = _safe_member(info.filename)
                if info.is_dir() or relative is None:
                    continue
                target = folder.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)

    try:
        folder = _entry(zipped.path, cache, fill)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as exc:
        return [_File(zipped.path, zipped.name, None, why=f"it is a zip that cannot be unpacked ({exc})")]
    members: list[_File] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        member = classify(path, f"{zipped.name}/{relative}")
        if member.kind == "meta":
            continue
        if member.kind == "zip" and depth < 2:
            members += _zip_members(member, cache, depth + 1)
        elif member.kind != "zip":
            members.append(member)
    return members


def _safe_member(name: str) -> PurePosixPath | None:
    """A zip member's path with nothing that would climb out of the folder (``..``, ``/``, ``C:``)."""
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", ".", "..", "/")]
    parts = [p for p in parts if not re.fullmatch(r"[A-Za-z]:", p)]
    return PurePosixPath(*parts) if parts else None


def _readable_copy(f: _File, cache: Cache, readable: set[str | None]) -> Path:
    """The file itself when the engine reads it as named, else a copy in the cache it can read.

    Parquet is read as it is (its codec is inside); wrapped whole in a compressor, it is decompressed. Text
    whose compression the engine reads but whose name hides it (gzip named .json) is linked under a name that
    says it; any other compression (brotli, lz4, bz2; zstd outside DuckDB) is decompressed.
    """
    if f.kind == "parquet" and f.wrap is None:
        return f.path
    if f.kind != "parquet" and f.wrap == f.named and f.wrap in readable:
        return f.path
    stem = f.path.name
    while Path(stem).suffix.lower() in _COMPRESSIONS:
        stem = stem[: -len(Path(stem).suffix)]
    if f.kind == "parquet":
        stem = stem if stem.lower().endswith((".parquet", ".pq")) else stem + ".parquet"
    if f.kind != "parquet" and f.wrap in readable:
        name = stem + _SUFFIX.get(f.wrap, "")  # type: ignore[arg-type]

        def link(folder: Path) -> None:
            try:
                os.symlink(f.path.resolve(), folder / name)
            except OSError:
                shutil.copyfile(f.path, folder / name)

        return _entry(f.path, cache, link) / name

    def decompress(folder: Path) -> None:
        with pa.input_stream(str(f.path), compression=f.wrap) as src, open(folder / stem, "wb") as dst:
            while chunk := src.read(1 << 22):
                dst.write(chunk)

    return _entry(f.path, cache, decompress) / stem


def link_folder(files: list[str], cache: Cache) -> str:
    """A folder holding exactly ``files`` (links to them, under plain names), for an engine that reads a folder
    (ibis reads Parquet on Spark from one path; Hadoop cannot open a name with a ':')."""
    digest = hashlib.sha1("\n".join(files).encode()).hexdigest()
    final = cache.root / "selected" / digest
    if not final.is_dir():
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.parent / f".tmp-{digest}-{uuid.uuid4().hex[:8]}"
        temp.mkdir()
        try:
            for i, file in enumerate(files):
                target = temp / f"{i:06d}-{re.sub(r'[^A-Za-z0-9._-]', '_', Path(file).name)}"
                try:
                    os.symlink(Path(file).resolve(), target)
                except OSError:
                    shutil.copyfile(file, target)
            with contextlib.suppress(OSError):
                os.rename(temp, final)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    return str(final)


# --------------------------------------------------------------------------- messages


def nothing_readable(key: str, where: str, found: Delivered) -> str:
    """No data in a folder: what is there (a few names, the endings) and what can be read."""
    if not found.seen:
        return f"{key}: {where} is empty: it holds no data files. Readable: {FORMATS}."
    endings = Counter(_ending(n) for n in found.seen)
    shown = ", ".join(found.seen[:6]) + (f", … ({len(found.seen) - 6} more)" if len(found.seen) > 6 else "")
    counted = ", ".join(f"{e} ×{n}" for e, n in endings.most_common(8))
    noun = "file" if len(found.seen) == 1 else "files"
    return (
        f"{key}: found nothing it can read in {where}: {len(found.seen)} {noun} ({counted}), e.g. {shown}. "
        f"Readable: {FORMATS}."
    )


def skipped_warning(key: str, where: str, found: Delivered) -> None:
    """Name the files left out that might have been data (nothing for markers, manifests and read-mes)."""
    if not found.skipped:
        return
    shown = ", ".join(found.skipped[:5]) + (f", … ({len(found.skipped) - 5} more)" if len(found.skipped) > 5 else "")
    warnings.warn(
        f"{key}: left out {len(found.skipped)} file(s) in {where} of no kind segworkshop reads: {shown}.",
        SkippedFilesWarning,
        stacklevel=4,
    )


def _ending(name: str) -> str:
    base = PurePosixPath(name).name.lower()
    inner, named = _split(base)
    suffix = Path(inner).suffix
    if len(suffix) > 12 or not re.fullmatch(r"\.[a-z0-9]+", suffix or "."):
        suffix = ""
    ending = suffix + (Path(base).suffix if named else "")
    return ending or "(no ending)"
