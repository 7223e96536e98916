#!/bin/bash
# Tool calling, structured outputs and reasoning through real clients against `torchllm serve` on the tiny chat
# model (random weights): the official OpenAI Node SDK (serve_tools_openai_test.js) and the Vercel AI SDK
# (serve_tools_ai_sdk_test.js). With random weights only what the grammar guarantees is meaningful: the tests
# force tool calls (tool_choice required / named) and structured outputs, and check that every client parses
# and validates what it gets, runs its local functions and sends their results back.
#   serve_tools_test.sh TORCHLLM MAKE_TINY_CHECKPOINT CLIENTS_DIR
set -uo pipefail
torchllm="$1"
make_checkpoint="$2"
clients="$3/node_modules"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -9 "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ ! -f "$clients/openai/package.json" ] || [ ! -f "$clients/ai/package.json" ] || ! command -v node >/dev/null; then
  echo "the client packages or node are missing (npm could not fetch them?); skipping"
  exit 77
fi
model="$work/tiny-chat"
mkdir -p "$model"
"$make_checkpoint" qwen3-chat "$model" >/dev/null || { echo "cannot make the test model"; exit 1; }
"$torchllm" serve -m "$model" --device cpu --port 0 --parallel 4 >"$work/server.log" 2>&1 &
server_pid=$!
base=""
for _ in $(seq 1 300); do
  [ -z "$base" ] && base="$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/server.log" | head -n 1)"
  if [ -n "$base" ] && curl -sf "$base/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then echo "server exited:"; cat "$work/server.log"; exit 1; fi
  sleep 0.1
done
failures=0
think_ids="$("$torchllm" tokenize -m "$model" --no-add-special "<think></think>")"
export TORCHLLM_BASE_URL="$base" TORCHLLM_MODEL=tiny-chat NODE_PATH="$clients" TORCHLLM_THINK_IDS="$think_ids"
node "$(dirname "$0")/serve_tools_openai_test.js" || failures=$((failures + 1))
node "$(dirname "$0")/serve_tools_ai_sdk_test.js" || failures=$((failures + 1))
kill -TERM "$server_pid"
wait "$server_pid" || { echo "FAIL exit status after SIGTERM"; failures=$((failures + 1)); }
server_pid=""
[ "$failures" -eq 0 ] || { echo "$failures client test file(s) failed"; tail -n 20 "$work/server.log"; exit 1; }
echo "all tool-calling client checks passed"
