#!/usr/bin/env bash
# Installs what the tests need beside npm packages, when it is missing: redis-server, nginx and
# Chromium (Debian packages) and FerretDB 1.x (built with Go into $(go env GOPATH)/bin). The tests
# start and stop the servers themselves. Safe to run again.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

echo "node $(node --version), npm $(npm --version), $(go version)"

# Debian packages: Redis (multi-instance tests), nginx (the scaled sample behind a balancer) and
# Chromium (browser tests, driven by playwright-core; no browser is ever downloaded).
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
# redis-cli joins the test Redis Cluster (redis-cli --cluster create); Debian ships it in redis-tools.
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# FerretDB 1.x, the MongoDB-compatible server the tests use when there is no mongod.
# NOTE: not `go install ...@v1.24.2`: the module proxy refuses the version list that go install
# reads for its deprecation check. The module is downloaded and built instead; a build from the
# module cache needs the version file that FerretDB's release tooling would have written.
FERRETDB_VERSION=v1.24.2
export PATH="$(go env GOPATH)/bin:$PATH"
if ! command -v ferretdb >/dev/null; then
  work=$(mktemp -d)
  (cd "$work" && go mod init ferretdb-build >/dev/null 2>&1 &&
    go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" >download.json)
  module_dir=$(node -e "console.log(require('$work/download.json').Dir)")
  cp -r "$module_dir" "$work/src" && chmod -R u+w "$work/src"
  echo "$FERRETDB_VERSION" >"$work/src/build/version/version.txt"
  (cd "$work/src" && go build -o "$(go env GOPATH)/bin/ferretdb" ./cmd/ferretdb)
  rm -rf "$work"
fi
# (FerretDB writes a state file into --state-dir, the current folder by default.) `sed -n 1p`, not
# `head -1`: head exits after the first line, ferretdb then dies of SIGPIPE writing the rest, and
# pipefail failed a CI run on it (exit 141).
(cd "$(mktemp -d)" && ferretdb --version | sed -n 1p)
