#!/usr/bin/env bash
# The whole test suite: starts the AWS emulator it needs (moto server on 127.0.0.1:4566, or
# whatever already answers there, e.g. LocalStack), then runs every test of the workspace.
# Integration tests fail, never skip, when the emulator does not answer.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
if [ "$AWS_ENDPOINT_URL" = "http://127.0.0.1:4566" ]; then
  bash localstack/start-emulator.sh
fi
# The browser client core's unit tests and the widget's size budget (node's own test runner).
command -v node >/dev/null || {
  echo "node (18 or later) is needed for widget/*.test.js and console/*.test.js: apt-get install nodejs" >&2
  exit 1
}
node --test widget/ console/
# axe-core, which the browser tests run on every page state (pinned by package-lock.json).
if [ ! -f tests/browser-tools/node_modules/axe-core/axe.min.js ]; then
  command -v npm >/dev/null || {
    echo "npm is needed to install axe-core for the browser tests: apt-get install npm" >&2
    exit 1
  }
  (cd tests/browser-tools && npm ci --no-audit --no-fund --loglevel=error)
fi
cargo test --workspace --all-targets "$@"
