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
# tool downloads itself), PostgreSQL (the engine-parity tests start a throwaway cluster) and Java 17 or 21 (Spark
# local mode; pyspark 4.0 does not run on Java 25, which may be the machine's default)
java_home() { ls -d /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/java-21-openjdk-* 2>/dev/null | head -n 1 || true; }
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
if [ -n "${missing[*]}" ] || [ -z "$(java_home)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    if [ -z "$(java_home)" ]; then
      for jre in openjdk-17-jre-headless openjdk-21-jre-headless; do  # whichever this Debian has
        if apt-cache show "$jre" >/dev/null 2>&1; then missing+=("$jre"); break; fi
      done
      mkdir -p /usr/share/man/man1  # slim images lack it and the JRE's post-install step then fails
    fi
    if [ -n "${missing[*]}" ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
  else
    need=" ${missing[*]}"
    [ -n "$(java_home)" ] || need="$need openjdk-17-jre-headless"
    echo "note: missing$need (sudo apt-get install$need); those tests are skipped here (in CI they fail)" >&2
  fi
fi
# Spark: the Java found above (not whichever `java` is first on PATH), bound to loopback, workers on this venv
if [ -n "$(java_home)" ]; then export JAVA_HOME="$(java_home)"; fi
export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$PWD/.venv/bin/python"

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -m "" "$@"  # -m "": every test, e2e and engines included
