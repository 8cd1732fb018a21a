"""Every form an engine secret takes stays out of what the kit prints (issue 17, "Secrets").

A corpus of engine settings, each holding a secret: a URL password with ``/ # ? @ %`` (encoded or not),
``?password=``, ``?sslpassword=``, ``?api_key=``, Spark Connect's ``;token=`` (and a ``?token=``), a BigQuery
``credentials_info`` mapping, a key such as ``api_key`` in a mapping, and ``${VAR}``\\ s whose values hold those
characters. Each is checked in the masked display (:func:`describe`, :func:`mask`), in the message of a failed
connection (a free port on 127.0.0.1) and in the stderr of ``segworkshop validate``. Then percent-decoding: an
encoded password reaches the driver decoded (parsed here; against a throwaway PostgreSQL under ``-m engines``).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from parity import free_port

from segworkshop import engine as engine_module
from segworkshop.cli import main
from segworkshop.engine import connect, describe, mask, postgres_kwargs, redact
from segworkshop.errors import SegworkshopError
from segworkshop.masking import mask_setting
from segworkshop.upload import _kept

PORT = free_port()  # nothing listens there: every connection is refused at once
HOST = f"127.0.0.1:{PORT}"
PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n"
)
ENV = {  # ${VAR} values with the characters a pattern would stop at
    "SEGW_T_PW": "env/pw#with?all@chars%41",
    "SEGW_T_TOKEN": "envtok;en=with/slash",
    "SEGW_T_SSL": "ssl&env=pw#x",
}

# (name, engine setting, the secret texts that must never be printed)
CORPUS = [
    ("password with /", f"postgres://analyst:Sl/ash9pw@{HOST}/db", ["Sl/ash9pw"]),
    ("password with #", f"postgres://analyst:Ha#sh9pw@{HOST}/db", ["Ha#sh9pw"]),
    ("password with ?", f"postgres://analyst:Que?ry9pw@{HOST}/db", ["Que?ry9pw"]),
    ("password with @", f"postgres://analyst:At@mark9pw@{HOST}/db", ["At@mark9pw"]),
    ("password with %", f"postgres://analyst:Per%cent9pw@{HOST}/db", ["Per%cent9pw"]),
    ("password with / # ? @ together", f"postgres://analyst:a/b#c?d@e9pw@{HOST}/db", ["a/b#c?d@e9pw"]),
    ("password percent-encoded", f"postgres://analyst:{quote('Enc@d/ed#9?pw', safe='')}@{HOST}/db", ["Enc@d/ed#9?pw"]),
    ("password with a port-like start", f"postgres://analyst:5432/digits9pw@{HOST}/db", ["5432/digits9pw"]),
    ("?password=", f"postgres://analyst@{HOST}/db?password=QueryParam9pw", ["QueryParam9pw"]),
    ("?password= with & and #", f"postgres://analyst@{HOST}/db?sslmode=disable&password=Amp#ers9pw", ["Amp#ers9pw"]),
    ("?sslpassword=", f"postgres://analyst@{HOST}/db?sslmode=require&sslpassword=SslPass9pw", ["SslPass9pw"]),
    ("?api_key=", f"postgres://analyst@{HOST}/db?api_key=ApiKey9secret", ["ApiKey9secret"]),
    ("mapping api_key", {"url": f"postgres://analyst@{HOST}/db", "api_key": "MapApiKey9secret"}, ["MapApiKey9secret"]),
    ("mapping password", {"backend": "postgres", "password": "MapPassword9pw"}, ["MapPassword9pw"]),
    ("Spark Connect ;token=", f"sc://{HOST}/;token=SparkTok9en;user_id=ana", ["SparkTok9en"]),
    ("Spark Connect ;token= with ? # /", f"sc://{HOST}/;token=Tok/en?9#x;user_id=ana", ["Tok/en?9#x"]),
    ("Spark Connect ?token=", f"sc://{HOST}/?token=QueryTok9en", ["QueryTok9en"]),
    (
        "Spark Connect remote ;token=",
        {"backend": "spark", "remote": f"sc://{HOST}/;token=RemoteTok9en"},
        ["RemoteTok9en"],
    ),
    (
        "credentials_info",
        {
            "backend": "bigquery",
            "project_id": "proj",
            "credentials_info": {
                "type": "service_account",
                "private_key_id": "KeyId9abcdef",
                "private_key": PRIVATE_KEY,
            },
        },
        ["KeyId9abcdef", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"],
    ),
    ("${VAR} password", f"postgres://analyst:${{SEGW_T_PW}}@{HOST}/db", [ENV["SEGW_T_PW"]]),
    ("${VAR} ?sslpassword=", f"postgres://analyst@{HOST}/db?sslpassword=${{SEGW_T_SSL}}", [ENV["SEGW_T_SSL"]]),
    ("${VAR} Spark ;token=", f"sc://{HOST}/;token=${{SEGW_T_TOKEN}}", [ENV["SEGW_T_TOKEN"]]),
    ("other Ibis URL", f"mysql://analyst:My/sql#9pw@{HOST}/db", ["My/sql#9pw"]),
]
IDS = [name for name, _, _ in CORPUS]


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def leaked(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text or quote(s, safe="") in text]


@pytest.mark.parametrize(("name", "setting", "secrets"), CORPUS, ids=IDS)
def test_the_masked_display_shows_no_secret(name, setting, secrets):
    shown = [describe(setting), str(mask_setting(setting))]
    if isinstance(setting, str):
        shown.append(mask(setting))
    assert leaked("\n".join(shown), secrets) == []
    assert "***" in str(mask_setting(setting))
    assert all(s not in redact(f"echoed: {s}", setting) for s in secrets)  # each one is known, for redact()


def _connect_error(setting) -> str:
    text = str(setting)
    if "sc://" in text:
        pytest.importorskip("grpc", reason="pip install 'segworkshop[spark]'")
    if "postgres" in text:
        pytest.importorskip("psycopg", reason="pip install 'segworkshop[postgres]'")
    with pytest.raises(SegworkshopError) as err:
        connect(setting)
    return str(err.value)


@pytest.mark.parametrize(("name", "setting", "secrets"), CORPUS, ids=IDS)
def test_a_failed_connection_names_no_secret(name, setting, secrets):
    message = _connect_error(setting)
    assert leaked(message, secrets) == [], message


def _workshop(folder: Path, setting) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"user_id": ["a", "b"], "event": ["visit", "buy"], "timestamp": ["2026-01-01", "2026-01-02"]}).to_csv(
        folder / "events.csv", index=False
    )
    raw = {"data": {"events": "events.csv"}, "success": {"event": "buy"}, "engine": setting}
    (folder / "workshop.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder / "workshop.yaml"


@pytest.mark.parametrize(("name", "setting", "secrets"), CORPUS, ids=IDS)
def test_validate_prints_no_secret(name, setting, secrets, tmp_path):
    _connect_error(setting)  # the same skips
    result = CliRunner().invoke(main, ["validate", str(_workshop(tmp_path, setting))])
    printed = result.output + (result.stderr or "")
    assert result.exit_code == 2, printed
    assert "error:" in printed and "Traceback" not in printed
    assert leaked(printed, secrets) == [], printed


@pytest.mark.parametrize(("name", "setting", "secrets"), CORPUS, ids=IDS)
def test_upload_refuses_to_write_a_secret_in_clear(name, setting, secrets):
    if name.startswith("${VAR}"):
        assert _kept(setting) == setting  # a variable is written as it is, never its value
        return
    with pytest.raises(SegworkshopError, match="holds a password or another secret") as err:
        _kept(setting)
    assert leaked(str(err.value), secrets) == []


def test_an_error_echoing_the_url_is_redacted(monkeypatch):
    """A driver that quotes its whole connection string (password decoded, or as written) in its error."""
    pytest.importorskip("psycopg")
    secret = "Ec/ho#ed?9@pw"
    url = f"postgres://analyst:{quote(secret, safe='')}@{HOST}/db?sslpassword=Ssl9echoed"

    def echoing(**kwargs):
        raise RuntimeError(f"bad conninfo {kwargs} from {url} ({kwargs['password']!r})")

    monkeypatch.setattr(engine_module.ibis.postgres, "connect", echoing)
    message = _connect_error(url)
    assert leaked(message, [secret, "Ssl9echoed"]) == [] and "cannot connect to the engine at" in message
    assert secret not in redact(f"anything quoting {secret} or {quote(secret)}")  # remembered for the process


def test_redact_keeps_ordinary_text():
    assert redact("cannot connect to postgres://analyst@db:5432/analytics: refused") == (
        "cannot connect to postgres://analyst@db:5432/analytics: refused"
    )
    assert mask("duckdb:///data/w.duckdb") == "duckdb:///data/w.duckdb"
    assert mask("postgres://a@h:5432/db?email=x@y.com&sslmode=require") == (
        "postgres://a@h:5432/db?email=x@y.com&sslmode=require"
    )


# --------------------------------------------------------------------------- percent-decoding


def test_an_encoded_password_reaches_the_driver_decoded(monkeypatch):
    secret = "p@ss/w#rd?50%:;="
    url = f"postgres://an%40lyst:{quote(secret, safe='')}@[::1]:5433/my%20db/sch?sslpassword=a%26b&sslmode=require"
    kwargs = postgres_kwargs(url)
    assert kwargs == {
        "host": "::1",
        "port": 5433,
        "user": "an@lyst",
        "password": secret,
        "database": "my db",
        "schema": "sch",
        "sslpassword": "a&b",
        "sslmode": "require",
    }
    # unencoded, the characters still stay in the password; a ${VAR}'s value is used as it is (never decoded)
    assert postgres_kwargs("postgres://u:raw/p#a?s@s@h/db")["password"] == "raw/p#a?s@s"
    assert postgres_kwargs("postgres://u:${SEGW_T_PW}@h/db")["password"] == ENV["SEGW_T_PW"]
    assert postgres_kwargs("postgres://u@h/db?password=${SEGW_T_SSL}")["password"] == ENV["SEGW_T_SSL"]
    pytest.importorskip("psycopg")
    seen = {}
    monkeypatch.setattr(engine_module.ibis.postgres, "connect", lambda **kw: seen.update(kw) or "con")
    assert connect(url) == "con" and seen["password"] == secret and seen["connect_timeout"] == 10


def test_spark_connect_variables_are_encoded_for_pyspark():
    remote = engine_module.expand_remote("sc://h:15002/;token=${SEGW_T_TOKEN};user_id=x")
    assert remote == f"sc://h:15002/;token={quote(ENV['SEGW_T_TOKEN'], safe='')};user_id=x"
    core = pytest.importorskip("pyspark.sql.connect.client.core")
    assert core.DefaultChannelBuilder(remote).token == ENV["SEGW_T_TOKEN"]  # pyspark decodes it back


PG_SECRET = "p@ss/w#rd?50%:x"


@pytest.fixture(scope="module")
def postgres_with_an_awkward_password():
    pytest.importorskip("psycopg", reason="pip install 'segworkshop[postgres]'")
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.skip("needs Debian's postgresql")
    bin_dir = Path(found[-1]).parent
    as_pg = (lambda a: ["runuser", "-u", "postgres", "--", *a]) if os.geteuid() == 0 else (lambda a: a)
    folder = Path(tempfile.mkdtemp(prefix="segworkshop-pg-secret-"))
    (folder / "pw").write_text(PG_SECRET + "\n")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(folder / "pw", "postgres")
    port = free_port()
    data = str(folder / "data")
    subprocess.run(
        as_pg([str(bin_dir / "initdb"), "-D", data, "-A", "md5", f"--pwfile={folder / 'pw'}", "-U", "postgres"]),
        check=True,
        capture_output=True,
    )
    opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    subprocess.run(
        as_pg([str(bin_dir / "pg_ctl"), "-D", data, "-w", "-l", str(folder / "log"), "-o", opts, "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield port
    finally:
        subprocess.run(as_pg([str(bin_dir / "pg_ctl"), "-D", data, "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.engines
def test_an_encoded_password_authenticates(postgres_with_an_awkward_password, monkeypatch):
    port = postgres_with_an_awkward_password
    encoded = f"postgres://postgres:{quote(PG_SECRET, safe='')}@127.0.0.1:{port}/postgres"
    assert connect(encoded).list_tables() is not None
    assert connect(f"postgres://postgres@127.0.0.1:{port}/postgres?password={quote(PG_SECRET, safe='')}")
    monkeypatch.setenv("SEGW_T_PG", PG_SECRET)
    assert connect(f"postgres://postgres:${{SEGW_T_PG}}@127.0.0.1:{port}/postgres")
    with pytest.raises(SegworkshopError) as err:
        connect(f"postgres://postgres:{quote(PG_SECRET + 'x', safe='')}@127.0.0.1:{port}/postgres")
    assert "password authentication failed" in str(err.value) and leaked(str(err.value), [PG_SECRET + "x"]) == []
