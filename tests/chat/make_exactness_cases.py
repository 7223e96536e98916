#!/usr/bin/python3
"""Writes tests/chat/exactness_cases.json: small templates for the Jinja2 constructs chat templates rely on,
each with the output (or the failure) of Python Jinja2 as transformers configures it
(tools/render_chat_template.py). chat_tests checks our renderer against every case.

    /usr/bin/python3 tests/chat/make_exactness_cases.py      # after changing CASES below
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# (name, template source). The messages are always MESSAGES; every case renders with add_generation_prompt.
MESSAGES = [{"role": "user", "content": "Say \"hi\" & 'bye' <now>"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": None}]
CASES = [
    # Dict literals with any hashable key, and lookups by those keys.
    ("dict_int_keys", "{% set d = {0: 0, 512: 128, 1024: 256} %}{{ d[512] }} {{ d[0] }} {{ d }} {{ d|length }}"),
    ("dict_seed_oss_budget", "{%- set budget = {0: 0, 512: 128, 1024: 256, 2048: 512} -%}"
     "{%- for k in budget %}{{ k }}={{ budget[k] }};{% endfor %}"),
    ("dict_mixed_keys", "{% set d = {1: 'int', 'a': 'str', none: 'none', true: 'bool', (1, 2): 'tuple'} %}"
     "{{ d }}|{{ d[1] }}|{{ d[none] }}|{{ d[(1, 2)] }}|{{ d['a'] }}"),
    ("dict_equal_keys", "{% set d = {1: 'a', 1.0: 'b', true: 'c'} %}{{ d }} {{ d[1.0] }} {{ 1 in d }} {{ 2 in d }}"),
    ("dict_key_methods", "{% set d = {3: 'x', 4: 'y'} %}{{ d.get(3) }} {{ d.get(5, 'none') }} {{ d.keys()|list }} "
     "{{ d.items()|list }} {{ d.values()|list }} {{ 4 is in d }}"),
    ("dict_int_key_tojson", "{{ {1: 'a', 2.5: 'b', none: 'c', false: 'd', 'e': 5}|tojson }}"),
    ("dict_int_key_dictsort", "{{ {3: 'c', 1: 'a', 2: 'b'}|dictsort }}"),
    ("dict_unhashable_key", "{{ {[1]: 2} }}"),
    ("dict_missing_int_key", "{{ {1: 2}[3] is defined }}"),
    # Markup: |safe, |e, and markupsafe's operators.
    ("markup_plus_str", "{% set name = messages[0].content %}{{ \"Use the function '\"|safe + name + \"'\" }}"),
    ("str_plus_markup", "{{ messages[0].content + ('<b>'|safe) }}"),
    ("markup_plus_markup", "{{ ('<a>'|safe) + ('<b>'|safe) }}"),
    ("markup_concat_tilde", "{{ ('<a>'|safe) ~ '<b>' ~ messages[0].content }}"),
    ("markup_percent", "{{ ('<%s|%r|%d|%05.1f>'|safe) % (messages[0].content, \"'q'\", 7, 2.25) }}"),
    ("str_percent", "{{ '%s-%s|%3d|%-4s|%x' % ('a<', messages[0].role, 5, 'ab', 255) }}"),
    ("str_percent_mapping", "{{ '%(a)s and %(b)05.2f' % {'a': '<x>', 'b': 3.14159} }}"),
    ("str_percent_missing", "{{ '%s %s' % ('one',) }}"),
    ("markup_join_method", "{{ ('<br>'|safe).join(['a&b', '<c>'|safe, 3]) }}"),
    ("markup_format_method", "{{ ('<p>{}</p>{}'|safe).format(messages[0].content, '<i>'|safe) }}"),
    ("markup_methods", "{% set m = '<A> \"x\"'|safe %}{{ m.lower() + '&' }}{{ m.replace('x', '&') }}"
     "{{ m.split(' ')[0] + '<' }}{{ m.strip('<') }}{{ m[1:] + '>' }}"),
    ("escape_filters", "{{ messages[0].content|e }}|{{ messages[0].content|escape|e }}|{{ ('<b>'|safe)|e }}|"
     "{{ ('<b>'|safe)|forceescape }}|{{ 5|e }}|{{ none|e }}"),
    ("escape_then_plus", "{{ (messages[0].content|e) + '<' }}"),
    ("string_filter_keeps_markup", "{{ ('<a>'|safe|string) + '<' }} {{ ('<a>'|string) + '<' }}"),
    ("markup_through_filters", "{{ ('<a>'|safe|upper) + '&' }} {{ ('<a>'|safe|replace('a', 'b')) + '&' }} "
     "{{ ('<a>'|safe|trim) + '&' }} {{ ('<a>'|safe|title) + '&' }} {{ (' <a>'|safe|indent(2)) + '&' }} "
     "{{ (['<a>', 'b']|join('|'|safe)) + '&' }}"),
    ("markup_tests_and_compare", "{{ ('<a>'|safe) is string }} {{ ('<a>'|safe) is escaped }} {{ 'a' is escaped }} "
     "{{ ('<a>'|safe) == '<a>' }} {{ ('<a>'|safe)|length }} {{ 'a' in ('<a>'|safe) }} {{ ['x'|safe] }}"),
    ("markup_tojson", "{{ ('<a>\"'|safe)|tojson }} {{ {'k': '<b>'|safe}|tojson }}"),
    ("markup_times", "{{ ('<a>'|safe) * 2 + '<' }}"),
    ("format_filter", "{{ '%s=%d'|format('n', 3) }} {{ '%(x)s!'|format(x='<y>') }} {{ ('%s'|safe)|format('<z>') }}"),
    # select / reject / selectattr / rejectattr / map on falsy values.
    ("select_on_none", "{{ none|select|list }}{{ none|reject('none')|list }}{{ none|selectattr('a')|list }}"
     "{{ none|rejectattr('a', 'none')|list }}{{ none|map('upper')|list }}{{ none|map(attribute='a')|list }}"),
    ("select_on_undefined", "{{ nothing|select|list }}{{ nothing|selectattr('a', 'equalto', 1)|list }}"
     "{{ nothing|map('string')|list }}{{ messages[0].tool_calls|selectattr('type')|list|length }}"),
    ("select_on_falsy", "{{ ''|select|list }}{{ 0|select|list }}{{ []|map('upper')|list }}{{ {}|select|list }}"),
    ("select_on_truthy_int", "{{ 3|select|list }}"),
    # What map/select/... return is a generator: once through, always true, no len(), no JSON, no indexing.
    ("generator_tojson", "{{ messages|map(attribute='role')|tojson }}"),
    ("generator_length", "{{ messages|selectattr('role')|length }}"),
    ("generator_index", "{{ (messages|map(attribute='role'))[0] }}"),
    ("generator_runs_once", "{% set g = [1, 2, 0]|select %}{{ g|list }}{{ g|list }}{% if [0]|select %}T{% endif %}"
     "{% if []|map('string') %}T{% endif %}{{ [1]|select is sequence }}{{ [1]|select is iterable }}"),
    ("generator_consumers", "{{ messages|map(attribute='role')|join(',') }} {{ messages|map(attribute='role')|first }} "
     "{{ messages|map(attribute='role')|sort }} {{ messages|map(attribute='role')|unique|list }} "
     "{{ messages|map(attribute='role')|reverse|list }} {{ 'user' in messages|map(attribute='role') }} "
     "{% for r in messages|map(attribute='role') %}{{ loop.index }}/{{ loop.length }}{{ r }} {% endfor %}"
     "{{ {'a': 1}|items|list }} {{ [1, 2, 3]|batch(2)|list }}"),
    ("generator_plus_list", "{{ [1]|select + [2] }}"),
    # min and max, with their keyword arguments.
    ("min_max", "{{ [3, 1, 2]|min }} {{ [3, 1, 2]|max }} {{ ['b', 'A', 'c']|min }} {{ ['b', 'A', 'c']|max }} "
     "{{ ['b', 'A', 'c']|min(case_sensitive=true) }} {{ ['b', 'A', 'c']|max(true) }} {{ 'hello'|max }}"),
    ("min_max_attribute", "{{ messages|max(attribute='role') }} {{ messages|min(attribute='role')|tojson }} "
     "{{ [{'n': 2}, {'n': 1}, {'n': 2}]|max(attribute='n') }} {{ [{'a': {'b': 5}}, {'a': {'b': 7}}]|min(attribute='a.b') }}"),
    ("min_max_ties_and_floats", "{{ [1, 1.0, true]|max }} {{ [2.5, 2, 3]|min }} {{ [[1, 2], [1, 1]]|min }}"),
    ("min_empty", "{{ []|min is undefined }} {{ []|max }}|"),
    ("min_mixed_types", "{{ [1, 'a']|min }}"),
    # The rest of Jinja2's filters a template could use.
    ("batch_slice", "{{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3, 4, 5]|batch(3, 'x')|list }} "
     "{{ [1, 2, 3, 4, 5]|slice(3)|list }} {{ [1, 2, 3, 4]|slice(3, 0)|list }}"),
    ("groupby", "{% for g in [{'k': 'b', 'v': 1}, {'k': 'A', 'v': 2}, {'k': 'a', 'v': 3}]|groupby('k') %}"
     "{{ g.grouper }}:{{ g.list|map(attribute='v')|list }} {% endfor %}"
     "{% for key, items in messages|groupby('role') %}{{ key }}={{ items|length }} {% endfor %}"
     "{{ [{'k': 'b'}, {'k': 'B'}]|groupby('k', case_sensitive=true) }} {{ messages|groupby('x', default='d')|length }} "
     "{{ (messages|groupby('role'))[0][0] }} {{ messages|groupby('role')|map(attribute='grouper')|join(',') }}"),
    ("center_truncate_wordcount", "[{{ 'ab'|center(7) }}][{{ 'abc'|center(8) }}][{{ 'x'|center }}] "
     "{{ 'one two three four'|truncate(9) }}|{{ 'one two three four'|truncate(9, true) }}|"
     "{{ 'one two three four'|truncate(12, false, '>>', 0) }}|{{ 'short'|truncate(10) }} "
     "{{ 'Hello, wörld_x 12!'|wordcount }}"),
    ("sort_unique_keywords", "{{ ['b', 'A', 'a', 'B']|unique|list }} {{ ['b', 'A', 'a', 'B']|unique(case_sensitive=true)|list }} "
     "{{ ['b', 'A', 'c']|sort(reverse=true, case_sensitive=true) }} {{ messages|map(attribute='missing', default='d')|list }}"),
    ("int_base", "{{ 'ff'|int(base=16) }} {{ '0x1F'|int(0, 16) }} {{ '0b101'|int(base=0) }} {{ '0o17'|int(base=8) }} "
     "{{ '010'|int(base=0) }} {{ '010'|int }} {{ ' 1_000 '|int }} {{ '1__0'|int(-1) }} {{ '_1'|int(-1) }} "
     "{{ 'z'|int(base=36) }} {{ '12'|int(base=1) }} {{ '-0x_f'|int(base=16) }} {{ '3.9'|int(base=16) }} "
     "{{ 'g'|int(7, 16) }}"),
    ("filter_and_test_tests", "{{ 'min' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }} {{ 'min' is test }} "
     "{{ 3 is filter }}"),
    ("joiner_cycler", "{% set j = joiner(' | ') %}{% for m in messages %}{{ j() }}{{ m.role }}{% endfor %} "
     "{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.current }}{{ c.next() }}{% set _ = c.reset() %}"
     "{{ c.current }}"),
    # The HTML/URL helpers: filesizeformat, urlencode, xmlattr; random on sequences with one possible answer.
    ("filesizeformat", "{{ 1|filesizeformat }}|{{ 0|filesizeformat }}|{{ 999|filesizeformat }}|"
     "{{ 1000|filesizeformat }}|{{ 123456789|filesizeformat }}|{{ 123456789|filesizeformat(true) }}|"
     "{{ '2048'|filesizeformat(binary=true) }}|{{ 1e30|filesizeformat }}|{{ -5|filesizeformat }}|"
     "{{ 1.5|filesizeformat }}|{{ 1023.9|filesizeformat(true) }}|{{ 999999|filesizeformat }}|{{ true|filesizeformat }}"),
    ("filesizeformat_not_a_number", "{{ 'abc'|filesizeformat }}"),
    ("urlencode", "{{ 'a b/c?d=\u00e9&~_.-'|urlencode }}|{{ {'a b': 'c/d', 'n': 1, 'x': none}|urlencode }}|"
     "{{ [('k', 'v w'), ('z', true)]|urlencode }}|{{ 42|urlencode }}|{{ messages[0].content|urlencode }}"),
    ("xmlattr", "<ul{{ {'class': 'my list', 'missing': none, 'id': messages[0].content, 'n': 3}|xmlattr }}>"
     "<b{{ {'a': 1}|xmlattr(false) }}>[{{ {}|xmlattr }}][{{ {'u': no_such}|xmlattr }}]"),
    ("xmlattr_bad_key", "{{ {'a b': 1}|xmlattr }}"),
    ("random", "{{ [7]|random }} {{ 'x'|random }} [{{ []|random }}] {{ ([1, 2, 3]|random) in [1, 2, 3] }} "
     "{{ ('abc'|random) in 'abc' }}"),
]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cases = []
        for name, source in CASES:
            path = tmp / f"{name}.jinja"
            path.write_bytes(source.encode("utf-8"))
            cases.append({"id": name, "template": str(path), "messages": MESSAGES, "bos": "<s>", "eos": "</s>"})
        (tmp / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
        subprocess.run([sys.executable, str(ROOT / "tools" / "render_chat_template.py"), str(tmp / "cases.jsonl"),
                        str(tmp / "out.jsonl")], check=True)
        results = [json.loads(line) for line in (tmp / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    out = {"generated_by": "tests/chat/make_exactness_cases.py", "messages": MESSAGES, "cases": []}
    for (name, source), result in zip(CASES, results):
        case = {"name": name, "template": source}
        if result["ok"]:
            case["output"] = result["output"]
        else:
            case["error"] = f"{result['error_type']}: {result['error']}"
        out["cases"].append(case)
    (HERE / "exactness_cases.json").write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for case in out["cases"]:
        print(f"{case['name']}: {case.get('output', case.get('error'))!r}")


if __name__ == "__main__":
    main()
