#!/usr/bin/env python3
"""One markdown table of a pass of tools/bench_vs_llamacpp.sh from the JSON files it leaves in PASS_DIR:

    /usr/bin/python3 tools/bench_table.py PASS_DIR --shapes "qwen3-0.6b llama3.2-1b" --types "bf16 q4_k_m" \\
        -p 512 -n 64 -d 2000 --threads 16 [--pass 1]

PASS_DIR/stream.txt: the read bandwidth in GB/s (tools/stream_read.c); PASS_DIR/../llama-build-options.txt (optional):
llama.cpp's CMake options, one a line; llama.SHAPE.TYPE.json and
llama.SHAPE.TYPE.depth.json: llama-bench -o json; llama.SHAPE.TYPE.batch.jsonl: llama-batched-bench --output-format
jsonl; torchllm.SHAPE.TYPE.json, torchllm.SHAPE.TYPE.batch.json,
torchllm.SHAPE.TYPE.depth.json and torchllm.SHAPE.shape.json: torchllm bench --json. A missing or unreadable file
shows as "-". Needs only the standard library.
"""
import argparse
import json
import pathlib


def load(path):
    """The JSON array in a file (whatever precedes its first "[" is skipped), or [] when there is none."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        return json.loads(text[text.index("["):])
    except (OSError, ValueError):
        return []


def llama_rate(rows, prompt, gen, depth=0):
    for r in rows:
        if r.get("n_prompt") == prompt and r.get("n_gen") == gen and r.get("n_depth", 0) == depth:
            return r.get("avg_ts")
    return None


def load_jsonl(path):
    """The JSON objects of a file's lines that are one (llama-batched-bench prints other lines too)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    rows = []
    for line in lines:
        try:
            if line.startswith("{"):
                rows.append(json.loads(line))
        except ValueError:
            pass
    return rows


def llama_batched_rate(rows, batch):
    return next((r.get("speed_tg") for r in rows if r.get("pl") == batch), None)


def llama_bytes(rows):
    return next((r["model_size"] for r in rows if "model_size" in r), None)


def torchllm_row(rows, batch=1, prompt=None):
    return next((r for r in rows if r.get("batch") == batch and prompt in (None, r.get("prompt_tokens"))), None)


def prefill_and_decode(rows, p):
    """Prefill from the p-token run; decode from the 1-token-prompt run where there is one (llama-bench's tg
    runs at depth 0), else from the p-token run (results of an older script)."""
    pp_row = torchllm_row(rows, 1, p)
    tg_row = torchllm_row(rows, 1, 1) or pp_row
    return pp_row, pp_row and pp_row.get("prefill_tok_s"), tg_row and tg_row.get("decode_tok_s")


def rate(x):
    return "-" if x is None else f"{x:.1f}"


def ratio(ours, theirs):
    return "-" if ours is None or not theirs else f"{ours / theirs:.2f}"


def fraction(tok_s, weight_bytes, gb_s, batch=1):
    """tok_s as a share of the bandwidth bound: every decode step reads all weights once, for `batch` tokens."""
    if tok_s is None or not weight_bytes or not gb_s:
        return "-"
    return f"{100 * tok_s / (gb_s * 1e9 / weight_bytes * batch):.0f}%"


def gib(b):
    return "-" if not b else f"{b / 2**30:.2f} GiB"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", type=pathlib.Path)
    ap.add_argument("--shapes", required=True)
    ap.add_argument("--types", required=True)
    ap.add_argument("--extra-types", default="bf16 q4_k_m", help="types with batched and depth rows")
    ap.add_argument("--batches", default="4,16")
    ap.add_argument("-p", type=int, required=True)
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("-d", type=int, required=True)
    ap.add_argument("--batch-prompt", type=int)
    ap.add_argument("--threads", required=True)
    ap.add_argument("--pass", dest="pass_no", default="")
    ap.add_argument("--torchllm-dtype", default="bf16")
    ap.add_argument("--torchllm-env", default="", help="environment torchllm ran with, as NAME=VALUE words")
    a = ap.parse_args()
    d, p, n, depth = a.dir, a.p, a.n, a.d
    batch_prompt = a.batch_prompt or p
    try:
        gb_s = float((d / "stream.txt").read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        gb_s = None
    extra = a.extra_types.split()
    batches = [int(b) for b in a.batches.split(",") if b]

    print(f"### Pass {a.pass_no}: llama.cpp vs torchllm, CPU, {a.threads} threads"
          if a.pass_no else f"### llama.cpp vs torchllm, CPU, {a.threads} threads")
    print()
    print(f"| shape | type | weights | llama.cpp pp{p} | torchllm pp{p} | ratio | llama.cpp tg{n} | "
          f"torchllm tg{n} | ratio | torchllm tg of bound | llama.cpp tg of bound |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

    def line(*cells):
        print("| " + " | ".join(cells) + " |")

    for shape in a.shapes.split():
        later = []  # batched and depth rows, after the shape's main rows
        for t in a.types.split():
            lb = load(d / f"llama.{shape}.{t}.json")
            tr, t_pp, t_tg = prefill_and_decode(load(d / f"torchllm.{shape}.{t}.json"), p)
            l_pp, l_tg = llama_rate(lb, p, 0), llama_rate(lb, 0, n)
            wb = tr and tr.get("weight_bytes")
            lbytes = llama_bytes(lb)
            line(shape, t.upper(), gib(wb or lbytes), rate(l_pp), rate(t_pp), ratio(t_pp, l_pp), rate(l_tg),
                 rate(t_tg), ratio(t_tg, l_tg), fraction(t_tg, wb, gb_s), fraction(l_tg, lbytes, gb_s))
            if t == "bf16":  # the safetensors path: --shape's random weights, against the BF16 GGUF
                sr, s_pp, s_tg = prefill_and_decode(load(d / f"torchllm.{shape}.shape.json"), p)
                swb = sr and sr.get("weight_bytes")
                line(shape, "bf16 `--shape` ¹", gib(swb), rate(l_pp), rate(s_pp), ratio(s_pp, l_pp), rate(l_tg),
                     rate(s_tg), ratio(s_tg, l_tg), fraction(s_tg, swb, gb_s), fraction(l_tg, lbytes, gb_s))
            if t not in extra:
                continue
            br = load(d / f"torchllm.{shape}.{t}.batch.json")
            lbr = load_jsonl(d / f"llama.{shape}.{t}.batch.jsonl")
            one = torchllm_row(br, 1)
            one_tg = one and one.get("decode_tok_s")
            l_one = llama_batched_rate(lbr, 1)

            def times(tg, base):
                return rate(tg) if not tg or not base else f"{tg:.1f} ({tg / base:.2f}×)"

            for b in batches:
                r = torchllm_row(br, b)
                tg = r and r.get("decode_tok_s")
                l_tg = llama_batched_rate(lbr, b)
                later.append((shape, f"{t.upper()} batch {b} ²", gib(wb or lbytes), "-", "-", "-",
                              times(l_tg, l_one), times(tg, one_tg), ratio(tg, l_tg),
                              fraction(tg, r and r.get("weight_bytes"), gb_s, b), fraction(l_tg, lbytes, gb_s, b)))
            l_tg0 = llama_rate(lb, 0, n)
            for suffix, label in (("depth", f"depth {depth} ³"), ("depth-q8", f"depth {depth}, KV q8_0 ⁴")):
                ld = load(d / f"llama.{shape}.{t}.{suffix}.json")
                dr = torchllm_row(load(d / f"torchllm.{shape}.{t}.{suffix}.json"))
                if not ld and not dr:
                    continue
                l_dtg = llama_rate(ld, 0, n, depth)
                t_dtg = dr and dr.get("decode_tok_s")
                later.append((shape, f"{t.upper()} {label}", gib(wb or lbytes), "-", "-", "-",
                              times(l_dtg, l_tg0), times(t_dtg, t_tg), ratio(t_dtg, l_dtg),
                              fraction(t_dtg, dr and dr.get("weight_bytes"), gb_s), fraction(l_dtg, lbytes, gb_s)))
        for cells in later:
            line(*cells)
    print()
    bw = f"{gb_s:.1f} GB/s" if gb_s else "not measured"
    print(f"Tokens per second. ratio = torchllm ÷ llama.cpp (above 1: torchllm faster). Bound = memory read "
          f"bandwidth ({bw}, tools/stream_read.c, {a.threads} threads) ÷ weight bytes read per decode step "
          f"(torchllm: its weight_bytes; llama.cpp: llama-bench's model_size), × batch for batched rows; KV "
          f"cache reads are not counted. torchllm runs --dtype {a.torchllm_dtype} on the same GGUF file: "
          f"BF16/F16 tensors are computed in {a.torchllm_dtype}, Q8_0/Q4_0/Q4_K/Q6_K blocks stay quantized."
          + (f" torchllm's environment: {a.torchllm_env}." if a.torchllm_env else ""))
    try:
        options = (d.parent / "llama-build-options.txt").read_text().split()
        on = [o[len("-DGGML_"):-len("=ON")] for o in options if o.endswith("=ON")]
        off = [o[len("-DGGML_"):-len("=OFF")] for o in options if o.endswith("=OFF") and o != "-DGGML_NATIVE=OFF"]
        print(f"llama.cpp built with GGML_NATIVE=OFF, on: {' '.join(on) or 'none'}; off: {' '.join(off) or 'none'}.")
    except OSError:
        pass
    print()
    print(f"¹ torchllm bench --shape SHAPE --dtype {a.torchllm_dtype}: random weights of the shape in memory (the safetensors "
          "path); the llama.cpp columns repeat its BF16 GGUF's figures.")
    print(f"² batched decode, tokens per second over all N sequences, and in parentheses the multiple of each "
          f"one's batch 1 at the same prompt: llama.cpp llama-batched-bench -npp {batch_prompt} -ntg {n} -npl "
          f"1,{','.join(map(str, batches))} (its S_TG), torchllm bench -p {batch_prompt} -n {n} -b N; bound × N.")
    print(f"³ llama.cpp: llama-bench -p 0 -n {n} -d {depth} (tg{n} after a {depth}-token context). torchllm bench "
          f"has no depth option: approximated by -p {depth} -n {n} (decode of {n} after a {depth}-token prompt). "
          f"In parentheses: the multiple of the same tool's tg{n} at depth 0 (the type's first row).")
    print(f"⁴ as ³ with the KV cache stored as q8_0: llama-bench -ctk q8_0 -ctv q8_0 -fa on, torchllm bench "
          f"--cache-type q8_0.")


if __name__ == "__main__":
    main()
