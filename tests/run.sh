#!/usr/bin/env bash
# The test command (README, and .ci/run calls exactly this): install the project with its test extras into
# .venv, then lint and run the whole suite. Arguments are passed on to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test,postgres,spark]"

# system packages the tests need: Debian's chromium (the report opened in a browser; never a browser that a
# tool downloads itself), PostgreSQL (the engine-parity tests start a throwaway cluster) and Java 17 (Spark
# local mode; pyspark 4.0 does not run on newer Javas)
java17() { ls -d /usr/lib/jvm/java-17-openjdk-* 2>/dev/null | head -n 1; }
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
[ -n "$(java17)" ] || missing+=(openjdk-17-jre-headless)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    mkdir -p /usr/share/man/man1  # slim images lack it and the JRE's post-install step then fails
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: missing ${missing[*]} (sudo apt-get install ${missing[*]}); those tests will be skipped" >&2
  fi
fi
# Spark: the Java found above (not whichever `java` is first on PATH), bound to loopback, workers on this venv
if [ -n "$(java17)" ]; then export JAVA_HOME="$(java17)"; fi
export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$PWD/.venv/bin/python"

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
