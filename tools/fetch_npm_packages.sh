#!/bin/bash
# Installs the npm packages that PACKAGE_DIR's package.json names, at the exact versions and hashes of its
# package-lock.json, into DEST/node_modules (npm ci: nothing is resolved anew, no install scripts run). Kept
# while the lockfile is unchanged. Used by the build (the chat page's browser libraries) and by the tests.
#   fetch_npm_packages.sh PACKAGE_DIR DEST [--optional]
# Exits 1 when npm cannot fetch them; with --optional it exits 0 instead (the tests that need them skip).
set -uo pipefail
src="$1"
dest="$2"
optional="${3:-}"
fail() {
  echo "fetch_npm_packages: $*" >&2
  if [ "$optional" = "--optional" ]; then exit 0; fi
  exit 1
}
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
if [ -f "$dest/node_modules/.package-lock.json" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
  touch "$dest/stamp"
  exit 0
fi
command -v npm >/dev/null 2>&1 || fail "npm not found (bash tools/install-deps.sh installs it); needed for $src/package.json"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
rm -rf "$dest/node_modules"
if ! (cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >"$dest/npm.log" 2>&1); then
  rm -f "$dest/package-lock.json"
  fail "could not fetch the packages of $src/package-lock.json from the npm registry: $(tail -n 5 "$dest/npm.log")"
fi
touch "$dest/stamp"
echo "fetch_npm_packages: installed $src/package-lock.json into $dest"
