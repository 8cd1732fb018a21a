"""The journal reads whatever a shared or synced folder leaves behind (issue 17).

A corpus of foreign files, each put next to good entries: the good entries are all still read, the foreign file
is named in ``Journal.skipped()`` with its reason, nothing raises and nothing blocks (a FIFO is never opened).
Stale temporary files of a killed writer are removed, a live writer's are kept.
"""

from __future__ import annotations

import html
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from segworkshop.journal import STALE_TEMP_SECONDS, Journal, Skipped, participant_folder

# ------------------------------------------------------------------ the good journal every case starts from


def _good_journal(folder: Path) -> tuple[Journal, dict[str, int]]:
    """Two authors, adds, an edit and a removal; returns the journal and {text: revision} of what must be read."""
    j = Journal(folder)
    a = j.add("hypotheses", "Ana", {"text": "email succeeds more"})
    j.add("hypotheses", "Bo", {"text": "android succeeds less"})
    gone = j.add("hypotheses", "Bo", {"text": "to be removed"})
    j.edit("hypotheses", a.id, {"text": "email succeeds more, by 10%"})
    j.remove("hypotheses", gone.id)
    return j, {"email succeeds more, by 10%": 2, "android succeeds less": 1}


def _ana(folder: Path) -> Path:
    return folder / "journal" / "hypotheses" / participant_folder("Ana")


def _an_entry_file(folder: Path) -> Path:
    return sorted(_ana(folder).glob("*.json"))[0]


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def _copy_named(name: str) -> Callable[[Path], Path]:
    """A copy of a good entry file under another name (what sync tools do on a conflict)."""

    def make(folder: Path) -> Path:
        original = _an_entry_file(folder)
        return _write(original.with_name(name.format(stem=original.stem)), original.read_bytes())

    return make


def _record(**changes) -> dict:
    record = {
        "kind": "hypotheses",
        "id": "f" * 32,
        "author": "Ana",
        "at": "2026-03-01T10:00:00.000000+00:00",
        "ns": 1_772_359_200_000_000_000,
        "deleted": False,
        "data": {"text": "a stray"},
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


def _json_file(name: str, value) -> Callable[[Path], Path]:
    return lambda folder: _write(_ana(folder) / name, json.dumps(value).encode())


def _half_written(folder: Path) -> Path:
    content = _an_entry_file(folder).read_bytes()
    return _write(_ana(folder) / "00000000000000000001-aaaaaaaaaaaa-bbbbbbbb.json", content[: len(content) // 2])


def _symlink(target: Callable[[Path], Path], name: str = "linked.json") -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        link = _ana(folder) / name
        link.symlink_to(target(folder))
        return link

    return make


def _outside_file(folder: Path) -> Path:
    outside = folder.parent / "outside.json"  # a well-formed record, but outside the workshop folder
    outside.write_text(json.dumps(_record()))
    return outside


def _directory(folder: Path) -> Path:
    path = _ana(folder) / "00000000000000000002-aaaaaaaaaaaa-bbbbbbbb.json"
    path.mkdir()
    (path / "inner.json").write_text(json.dumps(_record()))
    return path


def _socket(folder: Path) -> Path:
    path = _ana(folder) / "s.json"
    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("no unix sockets on this platform")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    here = os.getcwd()
    try:
        os.chdir(path.parent)  # a relative name: the full path may be too long for AF_UNIX
        sock.bind(path.name)
    finally:
        os.chdir(here)
        sock.close()
    return path


# (case id, how to make the foreign file, a word the reason must contain)
CASES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("half-written JSON", _half_written, "not valid JSON"),
    ("empty file", lambda f: _write(_ana(f) / "00000000000000000003-aaaaaaaaaaaa-bbbbbbbb.json", b""), "empty"),
    ("whitespace only", lambda f: _write(_ana(f) / "blank.json", b" \n\t\n"), "empty"),
    ("NUL bytes (preallocated, never written)", lambda f: _write(_ana(f) / "zeros.json", b"\0" * 512), "JSON"),
    ("not UTF-8", lambda f: _write(_ana(f) / "latin.json", '{"text": "café"}'.encode("latin-1")), "UTF-8"),
    (
        "macOS ._ resource fork",
        lambda f: _write(_an_entry_file(f).with_name("._" + _an_entry_file(f).name), b"\0\5\26\7\0\2\0\0Mac OS X"),
        "resource fork",
    ),
    ("macOS .DS_Store", lambda f: _write(_ana(f) / ".DS_Store", b"\0\0\0\1Bud1"), "hidden"),
    ("editor swap file", lambda f: _write(_ana(f) / ".x.json.swp", b"b0VIM 9.0"), "hidden"),
    ("not a .json name", lambda f: _write(_ana(f) / "x.json.tmp", json.dumps(_record()).encode()), "does not end"),
    ("Dropbox conflicted copy", _copy_named("{stem} (conflicted copy).json"), "sync-conflict"),
    ("Dropbox named conflicted copy", _copy_named("{stem} (Ana's conflicted copy 2026-03-01).json"), "sync-conflict"),
    ("Syncthing conflict", _copy_named("{stem}.sync-conflict-20260301-101010-ABCDEFG.json"), "sync-conflict"),
    ("Dropbox/Drive numbered copy", _copy_named("{stem} (1).json"), "sync-conflict"),
    ("copy under another name", _copy_named("Copy of {stem}.json"), "duplicate"),
    ("a directory named x.json", _directory, "a folder"),
    ("dangling symlink", _symlink(lambda f: f / "nowhere.json"), "symlink"),
    ("symlink out of the folder", _symlink(_outside_file), "outside"),
    ("symlink loop", _symlink(lambda f: _ana(f) / "linked.json"), "symlink"),
    ("symlink to a directory", _symlink(lambda f: f / "journal"), "not a regular file"),
    ("socket", _socket, "socket"),
    ("JSON array", _json_file("array.json", [1, 2, 3]), "not a journal entry"),
    ("JSON string", _json_file("string.json", "hello"), "not a journal entry"),
    ("JSON null", _json_file("null.json", None), "not a journal entry"),
    ("object without fields", _json_file("object.json", {"text": "hi"}), "no 'kind' field"),
    ("no id", _json_file("noid.json", _record(id=...)), "'id'"),
    ("ns as text", _json_file("ns.json", _record(ns="1772359200")), "'ns'"),
    ("deleted as text", _json_file("deleted.json", _record(deleted="no")), "'deleted'"),
    ("data not an object", _json_file("data.json", _record(data=["text"])), "'data'"),
    ("entry of another kind", _json_file("kind.json", _record(kind="notes")), "kind"),
    (
        "deeply nested JSON",
        lambda f: _write(_ana(f) / "deep.json", b"[" * 200_000 + b"]" * 200_000),
        "not valid JSON",
    ),
    (
        "file in the kind folder",
        lambda f: _write(f / "journal" / "hypotheses" / "x.json", json.dumps(_record()).encode()),
        "participant",
    ),
    ("._ in the kind folder", lambda f: _write(f / "journal" / "hypotheses" / "._ana", b"\0\5\26\7"), "resource fork"),
    ("dangling symlink as a participant folder", _symlink(lambda f: f / "gone", "../zed-0123456789"), "symlink"),
]


def _texts(j: Journal) -> dict[str, int]:
    return {e.data["text"]: e.revision for e in j.entries("hypotheses")}


@pytest.mark.parametrize("make, reason", [pytest.param(m, r, id=i) for i, m, r in CASES])
def test_a_foreign_file_is_skipped_and_named(tmp_path: Path, make, reason: str):
    folder = tmp_path / "workshop"
    j, expected = _good_journal(folder)
    foreign = make(folder)
    rel = Path(os.path.normpath(foreign)).relative_to(folder).as_posix()

    assert _texts(Journal(folder)) == expected  # every good entry, at its revision
    assert {e.data["text"] for e in j.entries("hypotheses", author="Ana")} == {"email succeeds more, by 10%"}
    skipped = Journal(folder).skipped()
    assert [s.path for s in skipped] == [rel], skipped
    assert isinstance(skipped[0], Skipped) and reason in skipped[0].reason
    note = j.skipped_note()
    assert note is not None and rel in note and "\n" not in note
    # the journal still takes new entries, and edits of good ones
    j.add("hypotheses", "Ana", {"text": "one more"})
    assert len(Journal(folder).entries("hypotheses")) == len(expected) + 1


def test_a_clean_journal_has_nothing_skipped(tmp_path: Path):
    j, _ = _good_journal(tmp_path)
    assert j.skipped() == [] and j.skipped_note() is None
    assert Journal(tmp_path / "nothing-here").skipped() == []


def test_many_skipped_files_make_one_sentence(tmp_path: Path):
    j, expected = _good_journal(tmp_path)
    for i in range(5):
        (_ana(tmp_path) / f"broken-{i}.json").write_text("{")
    note = j.skipped_note()
    assert note.startswith("5 files in the journal were skipped") and "and 2 more" in note and "\n" not in note
    assert _texts(j) == expected


# ------------------------------------------------------------------ FIFOs: never opened, never blocking


def _fifo_cases() -> list:
    if not hasattr(os, "mkfifo"):
        return []

    def in_folder(name: str) -> Callable[[Path], Path]:
        def make(folder: Path) -> Path:
            os.mkfifo(_ana(folder) / name)
            return _ana(folder) / name

        return make

    def linked(folder: Path) -> Path:
        os.mkfifo(folder / "journal" / "pipe")
        (_ana(folder) / "pipe.json").symlink_to(folder / "journal" / "pipe")
        return _ana(folder) / "pipe.json"

    def as_participant(folder: Path) -> Path:
        os.mkfifo(folder / "journal" / "hypotheses" / "zed-0123456789")
        return folder / "journal" / "hypotheses" / "zed-0123456789"

    def as_kind(folder: Path) -> Path:
        os.mkfifo(folder / "journal" / "notes")
        return folder / "journal" / "notes"

    return [
        pytest.param(in_folder("00000000000000000004-aaaaaaaaaaaa-bbbbbbbb.json"), "a FIFO", id="entry name"),
        pytest.param(in_folder(".tmp-abcd1234.json"), "hidden", id="temp-file name"),
        pytest.param(in_folder("x (1).json"), "sync-conflict", id="conflict name"),
        pytest.param(linked, "a FIFO", id="symlink to a FIFO"),
        pytest.param(as_participant, "FIFO", id="as a participant folder"),
        pytest.param(as_kind, "FIFO", id="as a kind folder"),
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("make, reason", _fifo_cases())
def test_a_fifo_never_blocks_the_reader(tmp_path: Path, make, reason: str):
    _, expected = _good_journal(tmp_path)
    fifo = make(tmp_path)
    out: dict = {}

    def read() -> None:
        try:
            out["texts"] = _texts(Journal(tmp_path))
            out["notes"] = Journal(tmp_path).entries("notes")
            out["skipped"] = Journal(tmp_path).skipped()
        except BaseException as error:  # reported below
            out["error"] = error

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=20)
    if reader.is_alive():
        # unblock the stuck reader (opening the FIFO for writing releases it) so the test run can go on
        fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail(f"reading the journal hung on the FIFO {fifo}")
    assert "error" not in out, out.get("error")
    assert out["texts"] == expected and out["notes"] == []
    rel = fifo.relative_to(tmp_path).as_posix()
    assert [(s.path, reason in s.reason) for s in out["skipped"]] == [(rel, True)]


# ------------------------------------------------------------------ a killed writer's temp files


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def test_stale_temp_files_are_removed_fresh_ones_kept(tmp_path: Path):
    j, expected = _good_journal(tmp_path)
    ana = _ana(tmp_path)
    stale = _write(ana / ".tmp-k1ll3d_w.json", b'{"kind": "hypoth')  # a writer killed mid-save, long ago
    _age(stale, STALE_TEMP_SECONDS + 60)
    fresh = _write(ana / ".tmp-l1ve_wr1.json", b'{"kind": "hypoth')  # a save in progress right now
    _age(fresh, STALE_TEMP_SECONDS / 2)
    # old, but not the writer's temp files: never deleted
    others = [
        _write(ana / "old.json.tmp", b"{"),
        _write(ana / ".tmp-notes.txt", b"x"),
        _write(ana / "tmp-abcd.json", b"{"),
        _write(ana / ".tmp-sub.dir.json", b"{"),
    ]
    link = ana / ".tmp-l1nk.json"
    link.symlink_to(_an_entry_file(tmp_path))
    stale_dir = ana / ".tmp-d1r.json"
    stale_dir.mkdir()
    for path in [*others, link, stale_dir]:
        _age(path, STALE_TEMP_SECONDS * 10)

    assert _texts(j) == expected
    assert not stale.exists()
    assert fresh.exists()
    assert all(p.exists() for p in others) and link.is_symlink() and stale_dir.is_dir()
    skipped = {s.path.rsplit("/", 1)[-1] for s in j.skipped()}
    assert fresh.name not in skipped and stale.name not in skipped  # a save in progress is not foreign
    assert skipped == {p.name for p in [*others, link, stale_dir]}


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads everything")
def test_an_unreadable_file_is_skipped(tmp_path: Path):
    j, expected = _good_journal(tmp_path)
    locked = _write(_ana(tmp_path) / "locked.json", json.dumps(_record()).encode())
    locked.chmod(0)
    try:
        assert _texts(j) == expected
        assert [(s.path.endswith("locked.json"), "could not be read" in s.reason) for s in j.skipped()] == [
            (True, True)
        ]
    finally:
        locked.chmod(0o600)


def test_writes_stay_atomic_next_to_foreign_files(tmp_path: Path):
    """A reader racing a writer never sees a half-written entry and never records the writer's temp file."""
    j, _ = _good_journal(tmp_path)
    (_ana(tmp_path) / "broken.json").write_text("{")
    stop = threading.Event()
    seen: list = []

    def reader() -> None:
        while not stop.is_set():
            r = Journal(tmp_path)
            seen.append((len(r.entries("hypotheses")), [s.path for s in r.skipped()]))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    for i in range(60):
        j.add("hypotheses", "Ana", {"text": f"race {i}"})
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(j.entries("hypotheses")) == 62
    assert all(len(paths) == 1 and paths[0].endswith("broken.json") for _, paths in seen)
    assert not list(tmp_path.rglob(".tmp-*"))


# ------------------------------------------------------------------ end to end: a session over a messy folder


def test_a_session_reads_through_foreign_files(small_workshop: Path):
    from click.testing import CliRunner

    from segworkshop import report
    from segworkshop.cli import main
    from segworkshop.session import Session

    folder = small_workshop.parent
    session = Session(folder, participant="Ana")
    session.save_success({"event": "purchase", "within_days": 14})
    j = session.journal
    j.add("hypotheses", "Ana", {"segment": "channel", "value": "email", "text": "email buys more"})
    j.add("hypotheses", "Bo", {"segment": "platform", "value": "ios", "direction": "less"})
    j.add("findings", "Bo", {"text": "carts stall on android", "tag": "learning"})
    j.add("notes", "Ana", {"text": "trend", "topic": "Trends observed"})
    j.add("votes", "Ana", {"ballot": {"x": 2}})

    # a shared folder's leftovers in every kind folder (the empty .json failed three report steps before)
    for kind in ("success", "hypotheses", "findings", "notes", "votes", "scores"):
        for who in ("Ana", "Bo"):
            part = folder / "journal" / kind / participant_folder(who)
            part.mkdir(parents=True, exist_ok=True)
            (part / "00000000000000000009-aaaaaaaaaaaa-bbbbbbbb.json").write_bytes(b"")
            (part / "._00000000000000000009-aaaaaaaaaaaa-bbbbbbbb.json").write_bytes(b"\0\5\26\7")
            (part / "half.json").write_text('{"kind": "')
            (part / "gone.json").symlink_to(part / "missing.json")
            for entry in sorted(part.glob("1*.json"))[:1]:
                if entry.stat().st_size:
                    (part / f"{entry.stem} (conflicted copy).json").write_bytes(entry.read_bytes())
            if hasattr(os, "mkfifo"):
                os.mkfifo(part / "pipe.json")

    out: dict = {}

    def read() -> None:
        s = Session(folder)
        out["hypotheses"] = [(h.segment, h.value, h.author) for h in s.hypotheses()]
        out["success"] = s.config.success
        out["findings"] = [e.data["text"] for e in s.findings()]
        out["notes"] = [e.data["text"] for e in s.notes("Trends observed")]
        out["ballots"] = s.ballots()
        out["candidates"] = s.candidates()
        out["checked"] = len(s.check_hypotheses())
        out["cli"] = CliRunner().invoke(main, ["hypotheses", str(small_workshop), "--format", "json"])
        out["note"] = s.journal.skipped_note()
        out["skipped"] = s.journal.skipped()
        out["validate"] = CliRunner().invoke(main, ["validate", str(small_workshop)])
        result = report.RunResult(out=folder / "out", started="2026-12-02T00:00:00+00:00", steps=[])
        summary, _ = report._summary(small_workshop.resolve(), result.started, None)
        (folder / "out").mkdir()
        report._write_index(folder / "out", "t", summary, None, None, result)
        out["summary"] = summary
        out["index"] = (folder / "out" / "index.html").read_text()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=240)
    assert not reader.is_alive(), "the session hung on a foreign journal file"
    assert out["hypotheses"] == [("channel", "email", "Ana"), ("platform", "ios", "Bo")]
    assert out["success"] is not None
    assert out["findings"] == ["carts stall on android"] and out["notes"] == ["trend"]
    assert out["ballots"] == [{"x": 2}] and out["candidates"] == []
    assert out["checked"] == 2
    cli = out["cli"]
    assert cli.exit_code == 0, cli.output
    assert len(json.loads(cli.output)["rows"]) == 2
    paths = [s.path for s in out["skipped"]]
    assert any(
        p.endswith("hypotheses/" + participant_folder("Ana") + "/00000000000000000009-aaaaaaaaaaaa-bbbbbbbb.json")
        for p in paths
    )
    assert all(p.startswith("journal/") for p in paths)
    assert out["note"].startswith(f"{len(paths)} files in the journal were skipped")
    # validate and the report's index name them too (a warning: the other entries are read)
    assert out["validate"].exit_code == 0, out["validate"].output
    assert " ".join(out["validate"].output.split()).count(f"{len(paths)} files in the journal were skipped") == 1
    assert out["summary"]["journal_skipped"] == out["note"]
    assert html.escape(out["note"]) in out["index"]
