# Shared by the end-to-end scripts: sourced after they set $work (a scratch directory) and failures=0.

check() {  # check NAME EXPECTED_RC COMMAND... ; output in $work/out, $work/err
  local name="$1" expected="$2"
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" -ne "$expected" ]; then
    echo "FAIL $name: exit $rc, expected $expected"; cat "$work/err"; failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

contains() {  # contains NAME FILE TEXT
  if ! grep -qF -- "$3" "$2"; then echo "FAIL $1: '$3' not in $2:"; cat "$2"; failures=$((failures + 1)); fi
}

error_line() {  # error_line NAME TEXT : stderr ($work/err) is one `torchllm: error:` line that holds TEXT
  if [ "$(wc -l <"$work/err")" -ne 1 ] || ! head -c 17 "$work/err" | grep -qF "torchllm: error: " ||
    ! grep -qF -- "$2" "$work/err"; then
    echo "FAIL $1: expected one 'torchllm: error:' line with '$2':"; cat "$work/err"; failures=$((failures + 1))
  fi
}
