#!/bin/bash
# End-to-end checks of `torchllm chat`: chat_test.sh TORCHLLM MAKE_TINY_CHECKPOINT
# Scripted mode through pipes; the interactive prompt through a pseudo-terminal (a private tmux server).
# The test model's replies are random bytes, so the checks look at structure, and at greedy replies being the
# same wherever the conversation is the same.
set -uo pipefail
torchllm="$1"
make_checkpoint="$2"
work="$(mktemp -d)"
socket="torchllm-chat-test-$$"
cleanup() {
  tmux -L "$socket" kill-server 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
export OMP_WAIT_POLICY=passive
unset NO_COLOR TORCHLLM_CHAT_HISTORY TMUX

fail() { echo "FAIL $*"; failures=$((failures + 1)); }
check() {  # check NAME EXPECTED_RC COMMAND... < stdin ; output in $work/out, $work/err
  local name="$1" expected="$2"
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" -ne "$expected" ]; then
    fail "$name: exit $rc, expected $expected"; cat "$work/err"
  else
    echo "ok   $name"
  fi
}
contains() {  # contains NAME FILE TEXT
  grep -qF -- "$3" "$2" || { fail "$1: '$3' not in $2:"; cat "$2"; }
}
py() {  # py EXPRESSION ARGS... : prints a Python expression over sys.argv
  python3 -c "import json, sys; print($1)" "${@:2}"
}
jsonl_text() {  # jsonl_text FILE N : the text of the Nth (0-based) JSON line
  py "json.loads(open(sys.argv[1], encoding='utf-8').read().splitlines()[int(sys.argv[2])])['text']" "$1" "$2"
}
saved_content() {  # saved_content FILE N : content of message N of a saved conversation
  py "json.load(open(sys.argv[1], encoding='utf-8'))[int(sys.argv[2])]['content']" "$1" "$2"
}
equal() {  # equal NAME ACTUAL EXPECTED
  if [ "$2" == "$3" ]; then echo "ok   $1"; else fail "$1: got '$2', expected '$3'"; fi
}

model="$work/model"
mkdir -p "$model" && "$make_checkpoint" qwen3-chat "$model" 5
# --context is capped at the model's maximum: the long contexts below need a model that claims them.
python3 -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); c["max_position_embeddings"] = 32768
json.dump(c, open(p, "w"))' "$model/config.json"
# --ignore-eos: replies of exactly max_tokens, long ones when asked for (Ctrl-C needs a reply still running).
base=("$torchllm" chat -m "$model" --threads 1 --device cpu --dtype fp32 --temperature 0 --ignore-eos)
chat=("${base[@]}" --context 30000)

check "help" 0 "$torchllm" chat --help
contains "help lists --system" "$work/out" "--system"
contains "help lists --hide-thinking" "$work/out" "--hide-thinking"
contains "help lists sampling" "$work/out" "--temperature"

# --- scripted mode: one reply per message ------------------------------------------------------------------
# The second message continues over two lines, as at the prompt.
printf 'hello\nsecond \\\nmessage\nthird message\n' >"$work/three.txt"
check "scripted json" 0 "${chat[@]}" --max-tokens 8 --json -v <"$work/three.txt"
cp "$work/out" "$work/three.jsonl"
equal "one JSON reply per message" "$(wc -l <"$work/three.jsonl")" 3
equal "reply length" "$(py "[json.loads(l)['usage']['completion_tokens'] for l in open(sys.argv[1])]" "$work/three.jsonl")" \
  "[8, 8, 8]"
equal "stats line per reply" "$(grep -c '^prompt .* tokens (.* cached)' "$work/err")" 3
# The conversation is kept: each prompt holds the previous one, whose K/V the next reply reuses.
read -r p1 p2 c2 <<<"$(py "' '.join(str(x) for x in (lambda r: [r[0]['usage']['prompt_tokens'], \
  r[1]['usage']['prompt_tokens'], r[1]['stats']['cached_prompt_tokens']])([json.loads(l) for l in open(sys.argv[1])]))" \
  "$work/three.jsonl")"
[ "$p2" -gt "$((p1 + 8))" ] || fail "second prompt ($p2 tokens) does not hold the first turn ($p1 + 8)"
# The prefix cache holds whole KV blocks (16 tokens by default): every full block of the first prompt is reused.
[ "$c2" -ge $((p1 / 16 * 16)) ] && [ $((c2 % 16)) -eq 0 ] && [ "$c2" -gt 0 ] ||
  fail "second reply reused $c2 cached tokens, not the whole 16-token blocks of the first prompt's $p1"
echo "ok   KV reuse: prompt $p1 -> $p2 tokens, $c2 cached"

check "scripted text" 0 "${chat[@]}" --max-tokens 8 <"$work/three.txt"
equal "text mode prints the greedy replies" "$(py "open(sys.argv[1], 'rb').read() == b''.join( \
  json.loads(l)['text'].encode('utf-8', 'surrogateescape') + b'\n' for l in open(sys.argv[2], encoding='utf-8'))" \
  "$work/out" "$work/three.jsonl")" True
[ -s "$work/err" ] && fail "text mode without -v wrote to stderr: $(cat "$work/err")"

# /stats ends with the KV cache's line: blocks in use, and the prompt tokens the prefix cache supplied (whole
# blocks of --kv-block-size); --no-prefix-cache computes every prompt in full.
printf 'hello\nsecond message\n/stats\n' >"$work/stats.txt"
check "scripted /stats" 0 "${chat[@]}" --max-tokens 8 --kv-block-size 4 <"$work/stats.txt"
contains "/stats: KV cache line" "$work/out" "blocks of 4 tokens in use"
read -r hits admitted <<<"$(sed -n 's/.*prefix cache: \([0-9]*\) of \([0-9]*\) prompt tokens from the cache.*/\1 \2/p' \
  "$work/out")"
if [ "${hits:-0}" -gt 0 ] && [ $((hits % 4)) -eq 0 ] && [ "$hits" -lt "$admitted" ]; then
  echo "ok   /stats: $hits of $admitted prompt tokens from the prefix cache"
else
  fail "/stats: expected whole blocks of prompt tokens from the prefix cache: $(tail -n 2 "$work/out")"
fi
check "scripted --no-prefix-cache" 0 "${chat[@]}" --max-tokens 8 --no-prefix-cache --json <"$work/three.txt"
equal "--no-prefix-cache: nothing cached" \
  "$(py "[json.loads(l)['stats']['cached_prompt_tokens'] for l in open(sys.argv[1])]" "$work/out")" "[0, 0, 0]"
equal "--no-prefix-cache: the same greedy replies" "$(jsonl_text "$work/out" 2)" "$(jsonl_text "$work/three.jsonl" 2)"
check "--kv-block-size 0" 2 "${chat[@]}" --kv-block-size 0 <"$work/stats.txt"

printf '/params\n/set temperature 0.5\n/set top_k 7\n/params\n/set bogus 1\n/think off\n/bye\nnever sent\n' >"$work/cmds.txt"
check "scripted commands" 0 "${chat[@]}" --max-tokens 8 <"$work/cmds.txt"
contains "/params" "$work/out" "temperature=0 top_k=20"
contains "/set then /params" "$work/out" "temperature=0.5 top_k=7"
contains "/set unknown" "$work/out" "unknown parameter 'bogus'"
contains "/think" "$work/out" "thinking off"
equal "/bye leaves before the last line" "$(wc -l <"$work/out")" 6  # 2 x /params, 3 x /set, /think

# /think off renders the template with enable_thinking=false: an empty reasoning block ends the prompt.
printf '/think off\nhello\n' >"$work/think.txt"
check "scripted /think off" 0 "${chat[@]}" --max-tokens 8 --json <"$work/think.txt"
think_prompt=$(py "json.loads(open(sys.argv[1]).readline())['usage']['prompt_tokens']" "$work/out")
[ "$think_prompt" -gt "$p1" ] || fail "/think off: prompt of $think_prompt tokens, not longer than $p1"

# A message that does not fit fails alone; the next one is answered; the exit code tells.
long="$(printf 'word %.0s' $(seq 1 80))"
printf '%s\nhi\n' "$long" >"$work/long.txt"
check "message too long" 1 "${base[@]}" --context 48 --max-tokens 4 --json <"$work/long.txt"
contains "too long: one line" "$work/err" "no longer fits the context of 48 tokens"
contains "too long: summary" "$work/err" "1 message got no reply"
equal "too long: error, then a reply" "$(py "[list(json.loads(l))[0] for l in open(sys.argv[1])]" "$work/out")" \
  "['error', 'text']"

# A conversation that outgrows the context loses its oldest turns (the system message stays), with one note,
# instead of failing every message from then on; /save still writes all of it.
for i in 1 2 3 4 5 6 7 8; do echo "message number $i"; done >"$work/many.txt"
echo "/save $work/many.json" >>"$work/many.txt"
check "conversation outgrows the context" 0 "${base[@]}" --context 96 --max-tokens 8 --system "be brief" --json <"$work/many.txt"
equal "outgrown: a reply to every message" "$(py "[list(json.loads(l))[0] for l in open(sys.argv[1])]" "$work/out")" \
  "$(py "['text'] * 8")"
equal "outgrown: one note" "$(grep -c "oldest messages are left out" "$work/err")" 1
equal "outgrown: every prompt leaves room for the reply" \
  "$(py "all(json.loads(l)['usage']['prompt_tokens'] + 8 <= 96 for l in open(sys.argv[1]))" "$work/out")" True
equal "outgrown: /save keeps every turn" "$(py "len(json.load(open(sys.argv[1])))" "$work/many.json")" 17
# --context beyond the model's maximum is capped, with a warning.
printf 'hello\n' >"$work/one.txt"
check "context capped" 0 "${base[@]}" --context 40000 --max-tokens 2 <"$work/one.txt"
contains "context cap warning" "$work/err" "--context 40000 is more than the model's maximum of 32768 tokens"

# --- /save then /load continues the same conversation ---------------------------------------------------
printf 'hello\n/save %s\n' "$work/one.json" >"$work/save.txt"
check "scripted /save" 0 "${chat[@]}" --max-tokens 8 <"$work/save.txt"
equal "saved roles" "$(py "[m['role'] for m in json.load(open(sys.argv[1]))]" "$work/one.json")" "['user', 'assistant']"
equal "saved reply is the greedy reply" "$(saved_content "$work/one.json" 1)" "$(jsonl_text "$work/three.jsonl" 0)"
printf '/load %s\nsecond \\\nmessage\n' "$work/one.json" >"$work/load.txt"
check "scripted /load" 0 "${chat[@]}" --max-tokens 8 --json <"$work/load.txt"
equal "reply after /load is the same greedy reply" "$(jsonl_text "$work/out" 0)" "$(jsonl_text "$work/three.jsonl" 1)"

# --- interactive, through a pseudo-terminal --------------------------------------------------------------
if ! command -v tmux >/dev/null; then
  fail "tmux is not installed (tools/install-deps.sh installs it); the interactive checks did not run"
  exit 1
fi
cat >"$work/session.sh" <<'EOF'
#!/bin/bash
# session.sh EXIT_FILE COMMAND...: runs the command, then records its exit code.
exit_file="$1"
shift
"$@"
echo "$?" >"$exit_file"
sleep 600
EOF
start() {  # start NAME COMMAND... : a new terminal running COMMAND
  rm -f "$work/$1.exit"
  tmux -L "$socket" new-session -d -s "$1" -x 160 -y 50 bash "$work/session.sh" "$work/$1.exit" "${@:2}"
}
screen() { tmux -L "$socket" capture-pane -p -J -S - -t "$1"; }
keys() { tmux -L "$socket" send-keys -t "$1" "${@:2}"; }
wait_for() {  # wait_for SESSION TEXT [SECONDS]: until TEXT is on the screen
  local deadline=$((SECONDS + ${3:-20}))
  until screen "$1" | grep -qF -- "$2"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      fail "$1: '$2' did not appear on the terminal:"; screen "$1" | tail -15; return 1
    fi
    sleep 0.1
  done
}
wait_prompts() {  # wait_prompts SESSION N: until N prompts have been shown
  local deadline=$((SECONDS + 20))
  until [ "$(screen "$1" | grep -c '^>>>')" -ge "$2" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then fail "$1: prompt $2 did not come:"; screen "$1" | tail -15; return 1; fi
    sleep 0.1
  done
}
wait_exit() {  # wait_exit SESSION EXPECTED_CODE
  local deadline=$((SECONDS + 20))
  until [ -s "$work/$1.exit" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then fail "$1: chat did not exit:"; screen "$1" | tail -15; return 1; fi
    sleep 0.1
  done
  equal "$1: exit code" "$(cat "$work/$1.exit")" "$2"
}

start j "${chat[@]}" --json
wait_exit j 2
contains "--json needs a script" <(screen j) "--json is for scripts"

start a "${chat[@]}" --max-tokens 8 --history-file "$work/history/chat_history"
wait_for a "/help lists the commands" && wait_prompts a 1
keys a "hello" Enter && wait_prompts a 2
keys a 'second \' Enter 'message' Enter && wait_prompts a 3
keys a "/params" Enter && wait_for a "max_tokens=8"
keys a "/stats" Enter && wait_for a "reply 2: prompt"
contains "interactive: KV reuse" <(screen a) "reply 2: prompt $p2 tokens ($c2 cached)"
contains "interactive: /stats shows the KV cache" <(screen a) "prefix cache: "
keys a "/save $work/two.json" Enter && wait_for a "saved 4 messages"
keys a "/set max_tokens none" Enter && wait_for a "max_tokens=none"
prompts=$(screen a | grep -c '^>>>')
keys a "tell me a very long story" Enter
# The reply streams (up to the 30000-token context, minutes away): Ctrl-C once its first text is on the screen
# (a fixed sleep raced with a loaded machine).
deadline=$((SECONDS + 30))
until screen a | awk '/tell me a very long story/ { seen = 1; next } seen && NF { found = 1 } END { exit !found }'; do
  [ "$SECONDS" -ge "$deadline" ] && { fail "a: the long reply did not start"; break; }
  sleep 0.1
done
sleep 0.3
keys a C-c && wait_prompts a $((prompts + 1))
keys a "/stats" Enter && wait_for a "| cancelled"
echo "ok   interactive: Ctrl-C stopped the reply and the prompt came back"
prompts=$(screen a | grep -c '^>>>')
keys a "a draft" && sleep 0.2 && keys a C-c && wait_prompts a $((prompts + 1))
keys a "/think on" Enter && wait_for a "thinking on"
keys a C-c && wait_for a "Use Ctrl-D or /bye to leave."  # at an empty prompt: how to leave, as ollama says
keys a "/save $work/after-ctrl-c.json" Enter && wait_for a "saved 6 messages"
[ -s "$work/a.exit" ] && fail "Ctrl-C at an empty prompt ended the chat"
keys a "/bye" Enter
wait_exit a 0
equal "interactive replies equal scripted ones" \
  "$(saved_content "$work/two.json" 1)|$(saved_content "$work/two.json" 3)" \
  "$(jsonl_text "$work/three.jsonl" 0)|$(jsonl_text "$work/three.jsonl" 1)"
equal "multi-line input" "$(saved_content "$work/two.json" 2)" "$(printf 'second \nmessage')"
contains "history file" "$work/history/chat_history" "hello"
contains "history file has commands" "$work/history/chat_history" "/params"
grep -q "draft" "$work/history/chat_history" && fail "a line dropped with Ctrl-C went into the history"

# A new session continues the saved conversation; the history comes from the environment variable.
start b env TORCHLLM_CHAT_HISTORY="$work/history2" "${chat[@]}" --max-tokens 8
wait_prompts b 1
keys b "/load $work/two.json" Enter && wait_for b "loaded 4 messages"
keys b "third message" Enter && wait_prompts b 3
keys b '"""' Enter "/a block" Enter 'of two lines"""' Enter && wait_prompts b 4
keys b "/save $work/three.json" Enter && wait_for b "saved 8 messages"
keys b C-d
wait_exit b 0
equal "reply after /load equals the scripted one" "$(saved_content "$work/three.json" 5)" \
  "$(jsonl_text "$work/three.jsonl" 2)"
equal "\"\"\" block is one literal message" "$(saved_content "$work/three.json" 6)" "$(printf '/a block\nof two lines')"
contains "TORCHLLM_CHAT_HISTORY" "$work/history2" "third"  # libedit escapes spaces

# --- reasoning on the terminal: dimmed, plain under NO_COLOR, hidden with --hide-thinking -------------------
# A template whose generation prompt opens <think> (as reasoning models' do): the whole reply is reasoning.
think_model="$work/think-model"
cp -r "$model" "$think_model"
python3 - "$think_model/tokenizer_config.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
opened = config["chat_template"].replace("'<|im_start|>assistant\\n'", "'<|im_start|>assistant\\n<think>\\n'")
assert opened != config["chat_template"], "the test model's template has no generation prompt to open"
config["chat_template"] = opened
json.dump(config, open(sys.argv[1], "w"))
PY
think=("${base[@]/$model/$think_model}" --context 256 --max-tokens 8 --history-file "")
coloured() { tmux -L "$socket" capture-pane -p -e -J -S - -t "$1"; }
reply_of() {  # reply_of SESSION: the screen lines between the message and the next prompt
  screen "$1" | sed -n '/^>>> hello$/,/^>>>/p' | sed '1d;$d'
}
start d "${think[@]}"
start n env NO_COLOR=1 "${think[@]}"
start h "${think[@]}" --hide-thinking
for s in d n h; do
  wait_prompts "$s" 1 && keys "$s" "hello" Enter && wait_prompts "$s" 2
  keys "$s" "/save $work/think-$s.json" Enter && wait_for "$s" "saved 2 messages"
done
reasoning="$(saved_content "$work/think-d.json" 1)"
[ -n "$reasoning" ] || fail "reasoning: the reply is empty"
equal "reasoning: the same reply in every mode" "$(saved_content "$work/think-n.json" 1)|$(saved_content "$work/think-h.json" 1)" \
  "$reasoning|$reasoning"
coloured d | grep -qF $'\e[2m' && echo "ok   reasoning is dimmed on a terminal" || fail "reasoning: no dim attribute on the terminal"
coloured n | grep -qF $'\e[2m' && fail "reasoning: NO_COLOR=1 still dims" || echo "ok   NO_COLOR: no colours"
[ -n "$(reply_of n)" ] || fail "reasoning: NO_COLOR shows no reply"
[ -z "$(reply_of h | tr -d '[:space:]')" ] && echo "ok   --hide-thinking leaves the reasoning out" ||
  fail "--hide-thinking showed: $(reply_of h)"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all chat e2e checks passed"
