#!/usr/bin/env bash
# Runs every check milink's CI runs: formatting, vet, the tests (with the race detector)
# and a short run of each fuzz target. Needs Go, FreeTDS's tsql and tmux (.ci/run
# installs them on Debian).
set -euo pipefail
cd "$(dirname "$0")"

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go test -race -count=1 ./...

# Fuzz targets, a few seconds each (seed corpora also run in the plain test above).
fuzztime="${FUZZTIME:-5s}"
for pkg in ./sqlops ./sqlsim ./sqlsim/tds ./azureops ./steps; do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
  done
done
echo "all checks passed"
