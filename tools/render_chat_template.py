#!/usr/bin/python3
"""Reference chat-template renderer: Jinja2 configured as Hugging Face transformers does.

Usage: render_chat_template.py CASES.jsonl OUT.jsonl   ("-" for stdin/stdout)

Each input line is a case:
  {"id": "...", "template": "path/to.jinja", "messages": [...], "tools": [...] or null,
   "add_generation_prompt": true, "kwargs": {...}, "bos": "...", "eos": "..."}
Only "template" and "messages" are required. Each output line is, in input order:
  {"id": ..., "ok": true, "output": "..."}  or
  {"id": ..., "ok": false, "error": "...", "error_type": "...", "raised": true|false}
"raised" is true when the template itself called raise_exception(); "error" is then its message.

Mirrors transformers' _compile_jinja_template and apply_chat_template: trim_blocks, lstrip_blocks,
loopcontrols, a tojson that does not HTML-escape, raise_exception, strftime_now, and
render(messages=..., tools=tools (None when not given), documents=None, add_generation_prompt=...,
**special_tokens, **kwargs).
{% generation %} blocks render their body, as transformers' AssistantTracker does when not tracking.
"""
import json
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


class RaisedByTemplate(jinja2.exceptions.TemplateError):
    """TemplateError from raise_exception(); a subclass only so the harness can tell it apart."""


class GenerationBlock(jinja2.ext.Extension):
    """The parsing half of transformers' AssistantTracker: {% generation %}body{% endgeneration %} -> body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def raise_exception(message):
    raise RaisedByTemplate(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return datetime.now().strftime(format)


def make_environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationBlock, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def read_template(path):
    # Bytes, not text mode: Python's universal newlines must not touch the source before Jinja sees it.
    with open(path, "rb") as f:
        return f.read().decode("utf-8")


def render_case(env, cache, case):
    path = case["template"]
    if path not in cache:
        try:
            cache[path] = env.from_string(read_template(path))
        except jinja2.exceptions.TemplateError as e:
            cache[path] = e
    template = cache[path]
    if isinstance(template, Exception):
        raise template
    variables = {"bos_token": case.get("bos", ""), "eos_token": case.get("eos", "")}
    variables.update(case.get("kwargs") or {})
    return template.render(messages=case["messages"], tools=case.get("tools"), documents=None,
                           add_generation_prompt=case.get("add_generation_prompt", True), **variables)


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    src = sys.stdin if argv[1] == "-" else open(argv[1], encoding="utf-8")
    dst = sys.stdout if argv[2] == "-" else open(argv[2], "w", encoding="utf-8")
    env = make_environment()
    cache = {}
    for line in src:
        if not line.strip():
            continue
        case = json.loads(line)  # dicts keep the file's key order, as tojson must
        result = {"id": case.get("id")}
        try:
            result.update(ok=True, output=render_case(env, cache, case))
        except Exception as e:  # every failure is a result: the harness expects the C++ side to fail too
            raised = isinstance(e, RaisedByTemplate)
            kind = "TemplateError" if raised else type(e).__name__
            result.update(ok=False, error=str(e), error_type=kind, raised=raised)
        dst.write(json.dumps(result, ensure_ascii=False) + "\n")
    dst.flush()


if __name__ == "__main__":
    main(sys.argv)
