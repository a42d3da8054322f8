#!/usr/bin/env bash
# The HTTP contract checked by a fuzzer we did not write (#40): Schemathesis reads
# docs/openapi.yaml and runs its examples, coverage, fuzzing and stateful (OpenAPI links) phases
# against the local gateway (in memory), as an admin, an agent and an end user, with the seven
# checks below. Zero failures or it exits non-zero. The seed is fixed and printed: replay a
# failure with FUZZ_SEED=<seed>; FUZZ_SECONDS is each role's time budget (default 50 s).
set -euo pipefail
cd "$(dirname "$0")/../.."
seed="${FUZZ_SEED:-4040}"
budget="${FUZZ_SECONDS:-50}"
port="${FUZZ_PORT:-3940}"
venv=localstack/.venv-fuzz
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5"
fi

# CI builds the gateway first and runs this beside the arm64 build, which holds cargo's lock on
# target/ for its whole length: FUZZ_NO_BUILD=1 skips this (no-op) build and its wait.
[ -n "${FUZZ_NO_BUILD:-}" ] || cargo build -q -p local-gateway
gateway=
trap 'kill $gateway 2>/dev/null || true' EXIT
# A fresh gateway (in memory) for each role: an admin's run may revoke the demo signing key
# its tokens are signed with (the stateful phase follows GET /v1/signing-keys to DELETE), and
# an end user's quotas fill up.
start_gateway() {
  if [ -n "$gateway" ]; then kill "$gateway" 2>/dev/null || true; wait "$gateway" 2>/dev/null || true; fi
  env -u AWS_ENDPOINT_URL PORT="$port" target/debug/local-gateway > "target/fuzz-gateway-$1.log" 2>&1 &
  gateway=$!
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v1/widget/config" && return 0
    sleep 0.2
  done
  echo "the local gateway did not start (target/fuzz-gateway-$1.log)"; return 1
}

# Real objects for the generated requests to reach instead of 404s (schemathesis.toml pins the
# path parameters to them): a conversation with a message and an attachment, owned by the
# end user the role acts as (or by a customer, for staff), a webhook, a signing key, an
# integration, a published article and a shared macro of the account. Stateful runs also follow the document's links from what they
# create.
api() { # METHOD PATH TOKEN [BODY] → the response body
  curl -s -X "$1" "http://127.0.0.1:$port$2" -H "Authorization: Bearer $3" \
    -H 'content-type: application/json' ${4:+-d "$4"}
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
seed_objects() {
  local owner=fuzz-customer customer admin
  [ "$1" = end_user ] && owner=fuzz-end_user
  customer=$(target/debug/local-gateway token --role end_user --sub "$owner")
  admin=$(target/debug/local-gateway token --role admin --sub fuzz-seeder)
  export FUZZ_USER="$owner" FUZZ_AGENT=fuzz-agent
  FUZZ_CID=$(api POST /v1/conversations "$customer" '{}' | field "['id']")
  api POST "/v1/conversations/$FUZZ_CID/messages" "$customer" \
    '{"client_message_id":"seed-1","type":"text","text":"hello"}' > /dev/null
  FUZZ_AID=$(api POST "/v1/conversations/$FUZZ_CID/attachments" "$customer" \
    '{"file_name":"a.txt","size":10,"content_type":"text/plain"}' | field "['attachment_id']")
  FUZZ_WEBHOOK=$(api POST /v1/webhooks "$admin" \
    '{"url":"https://hooks.example.com/relay","events":["message.created"]}' | field "['id']")
  FUZZ_KID=$(api POST /v1/signing-keys "$admin" '{}' | field "['kid']")
  FUZZ_INTEGRATION=$(api POST /v1/integrations "$admin" \
    '{"name":"fuzz","scopes":["bot"]}' | field "['id']")
  FUZZ_ARTICLE=$(api POST /v1/articles "$admin" \
    '{"title":"Refunds","body":"Ask within **30 days**.","locale":"en","published":true}' | field "['id']")
  FUZZ_MACRO=$(api POST /v1/macros "$admin" \
    '{"title":"Refund","text":"Hi {{end_user.name}}, refunded."}' | field "['id']")
  export FUZZ_CID FUZZ_AID FUZZ_WEBHOOK FUZZ_KID FUZZ_INTEGRATION FUZZ_ARTICLE FUZZ_MACRO
}

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection,positive_data_acceptance
echo "Schemathesis $("$venv/bin/st" --version | awk '{print $NF}'), seed $seed (replay: FUZZ_SEED=$seed bash scripts/fuzz-api/run.sh)"
failed=0
for role in end_user agent admin; do
  start_gateway "$role"
  token=$(target/debug/local-gateway token --role "$role" --sub "fuzz-$role")
  seed_objects "$role"
  echo "=== as $role (${budget} s): conversation $FUZZ_CID, attachment $FUZZ_AID, webhook $FUZZ_WEBHOOK"
  # The config (scripts/fuzz-api/schemathesis.toml) is read from the working directory.
  if ! (cd scripts/fuzz-api && "../../$venv/bin/st" run ../../docs/openapi.yaml \
      --url "http://127.0.0.1:$port" \
      --header "Authorization: Bearer $token" \
      --checks "$checks" \
      --phases examples,coverage,fuzzing,stateful \
      --seed "$seed" --max-time "$budget" \
      --no-color); then
    failed=1
  fi
done
exit $failed
