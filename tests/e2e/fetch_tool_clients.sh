#!/bin/bash
# Fetches the clients of the tool-calling and structured-output tests into CACHE_DIR/node_modules (kept between
# runs; nothing of it is committed): the official OpenAI Node SDK with zod for its helpers, and the Vercel AI SDK
# (ai 5, the last major that runs on Node 20, with @ai-sdk/openai-compatible 1). Exits 0 even when npm cannot fetch
# them: the tests then skip.
#   fetch_tool_clients.sh CACHE_DIR
set -uo pipefail
cache="$1"
packages=(openai@6.30.1 zod@3.25.76 ai@5.0.277 @ai-sdk/openai-compatible@1.0.61)
mkdir -p "$cache"
stamp="$cache/.installed"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${packages[*]}" ]; then exit 0; fi
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch_tool_clients: npm not found; the tool-calling client tests will be skipped"
  exit 0
fi
[ -f "$cache/package.json" ] || echo '{"name": "torchllm-tool-clients", "private": true}' >"$cache/package.json"
if (cd "$cache" && npm install --no-audit --no-fund --ignore-scripts "${packages[@]}" >"$cache/npm.log" 2>&1); then
  echo "${packages[*]}" >"$stamp"
  echo "fetch_tool_clients: installed ${packages[*]}"
else
  echo "fetch_tool_clients: could not install ${packages[*]}: $(tail -n 3 "$cache/npm.log")"
fi
exit 0
