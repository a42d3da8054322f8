#!/usr/bin/env bash
# Gets an AWS API emulator listening on 127.0.0.1:4566 on a machine without Docker: moto server
# (DynamoDB + S3 + SQS) from a project-local virtual environment, then waits until it answers.
# Idempotent: if something already answers there (LocalStack, an earlier run), it starts nothing
# (the project-local venv with the Python tools is still installed).
#   localstack/start-emulator.sh          start in the background (log: localstack/moto.log)
#   localstack/start-emulator.sh --stop   stop the background emulator
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
host=127.0.0.1
port="${EMULATOR_PORT:-4566}"
pidfile="$here/moto.pid"

answers() { curl -s -o /dev/null --max-time 2 "http://$host:$port/moto-api/" || curl -s -o /dev/null --max-time 2 "http://$host:$port/_localstack/health"; }

if [ "${1:-}" = "--stop" ]; then
  if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
  exit 0
fi

# The venv also holds the tools CI uses (cfn-lint, cargo-lambda): install it even when
# another emulator already answers.
# (Re)install when the venv is missing or older than requirements.txt.
if [ ! -x "$venv/bin/python" ] || [ "$here/requirements.txt" -nt "$venv/.installed" ]; then
  echo "creating $venv and installing $(grep -c '^[a-z]' "$here/requirements.txt") packages"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  touch "$venv/.installed"
fi

if answers; then
  echo "emulator already answering on http://$host:$port"
  exit 0
fi

nohup "$venv/bin/python" "$here/moto_server.py" "$host" "$port" > "$here/moto.log" 2>&1 &
echo $! > "$pidfile"
for _ in $(seq 1 60); do
  if answers; then
    echo "moto server answering on http://$host:$port (pid $(cat "$pidfile"), log $here/moto.log)"
    exit 0
  fi
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "moto server exited; log follows" >&2
    cat "$here/moto.log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "moto server did not answer on http://$host:$port within 30 s" >&2
exit 1
