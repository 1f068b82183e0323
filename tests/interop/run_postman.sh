#!/usr/bin/env bash
# Runs Microsoft's SCIMReferenceCode Postman collection with newman against a throwaway gateway on a
# free loopback port: the file given as the first argument, else the collection downloaded from
# AzureAD/SCIMReferenceCode (MIT) at commit d445ef901981fef684a220fe8cf6c97b588600fd and checked against
# its SHA-256. Not part of the pytest suite: it needs newman from npm (`npm install -g newman@6`) and,
# without an argument, curl and network access. It fails (exit 1) on any failed assertion other than those
# listed, with their reasons, in tests/interop/postman_expected_failures.tsv (34 of 103, newman 6.2.2), or
# when fewer assertions ran.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
collection="${1:-}"
if [ -z "$collection" ]; then
  collection="$work/PostmanCollection.json"
  curl -fsSL -o "$collection" \
    https://raw.githubusercontent.com/AzureAD/SCIMReferenceCode/d445ef901981fef684a220fe8cf6c97b588600fd/PostmanCollection.json
  echo "36ee6b9fb355cd6d438b7012ce266c05496caf494db4cb2a2be832f91fa56ccf  $collection" | sha256sum -c --quiet
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m gateway.cli serve --data-dir "$work/data" --port "$port" >"$work/serve.out" 2>"$work/serve.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q serving "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
token=$(python3 -m gateway.cli integration add --data-dir "$work/data" --location 1 --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["secret_token"])')
newman run "$collection" --env-var Protocol=http --env-var Server=127.0.0.1 --env-var "Port=:$port" \
  --env-var Api=scim/v2/locations/1 --env-var "token=$token" \
  --folder "Endpoint tests" --folder "User tests" --folder "Group tests" --folder "ComplexAttribute tests" \
  --folder "User tests with garbage" --folder "Group tests with garbage" --folder "Teardown garbage" --reporters cli,json --reporter-json-export "$work/report.json" || true
python3 - "$work/report.json" tests/interop/postman_expected_failures.tsv <<'EOF'
"""Compare newman's failed assertions with the expected ones; exit 1 on any other."""
import collections, json, sys
report = json.load(open(sys.argv[1]))["run"]
failed = collections.Counter((f["source"]["name"], f["error"].get("test") or f["error"]["name"])
                             for f in report["failures"])
expected = collections.Counter()
for line in open(sys.argv[2], encoding="utf-8"):
    if line.strip() and not line.startswith("#"):
        times, request, assertion = line.rstrip("\n").split("\t")
        expected[(request, assertion)] += int(times)
unexpected, now_passing = failed - expected, expected - failed
ran = report["stats"]["assertions"]["total"]
for (request, assertion), times in sorted(unexpected.items()):
    print(f"UNEXPECTED FAILURE x{times}: {request} :: {assertion}")
for (request, assertion), times in sorted(now_passing.items()):
    print(f"now passes (remove it from the list) x{times}: {request} :: {assertion}")
print(f"postman: {ran} assertions, {sum(failed.values())} failed, {sum(unexpected.values())} unexpectedly")
sys.exit(1 if unexpected or ran < 103 else 0)
EOF
