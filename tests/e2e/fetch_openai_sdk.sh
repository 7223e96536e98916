#!/bin/bash
# Fetches the official OpenAI Node SDK for the server's end-to-end tests into CACHE_DIR/node_modules/openai (kept
# between runs; nothing of it is committed). Exits 0 even when npm cannot fetch it: the SDK tests then skip.
#   fetch_openai_sdk.sh CACHE_DIR
set -uo pipefail
cache="$1"
version=6.30.1  # 7.x needs Node 22; Debian 12's nodesource Node is 20
dir="$cache/node_modules/openai"
mkdir -p "$cache/node_modules"
if [ -f "$dir/package.json" ] && grep -q "\"version\": \"$version\"" "$dir/package.json"; then exit 0; fi
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch_openai_sdk: npm not found; the OpenAI SDK tests will be skipped"
  exit 0
fi
tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
# npm pack + tar rather than npm install: the SDK has no dependencies, and nothing else is written.
if (cd "$tmp" && npm pack --silent "openai@$version" >/dev/null 2>"$tmp/npm.log") && tar xzf "$tmp"/*.tgz -C "$tmp"; then
  rm -rf "$dir" && mv "$tmp/package" "$dir"
  echo "fetch_openai_sdk: fetched openai@$version"
else
  echo "fetch_openai_sdk: could not fetch openai@$version: $(tail -n 3 "$tmp/npm.log" 2>/dev/null)"
fi
rm -rf "$tmp"
exit 0
