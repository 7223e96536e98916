"""Judges JSON-schema grammars with the jsonschema package (Draft 2020-12) as the reference: every case's
"valid" texts must be valid and accepted by the grammar, its "invalid" texts invalid and rejected, and every
output drawn at random through the grammar's token masks must parse as JSON and validate.
  check_schema_grammar.py GRAMMAR_WALK CASES.json"""
import json
import subprocess
import sys

try:
    import jsonschema
except ImportError:
    print("check_schema_grammar: python3-jsonschema is not installed (tools/install-deps.sh); skipping")
    sys.exit(77)


def main():
    walk, cases_path = sys.argv[1], sys.argv[2]
    with open(cases_path) as f:
        cases = json.load(f)
    out = subprocess.run([walk, cases_path, "40", "1"], check=True, capture_output=True, text=True).stdout
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == len(cases), out
    failures = 0
    drawn = 0
    for case, line in zip(cases, lines):
        validator = jsonschema.Draft202012Validator(case["schema"], format_checker=jsonschema.FormatChecker())

        def check(ok, message):
            nonlocal failures
            if not ok:
                failures += 1
                print(f"FAIL [{case['name']}] {message}")

        for text, accepted in zip(case["valid"], line["accepted_valid"]):
            check(validator.is_valid(json.loads(text)), f"the reference finds this 'valid' text invalid: {text}")
            check(accepted, f"the grammar rejects a valid text: {text}")
        for text, accepted in zip(case["invalid"], line["accepted_invalid"]):
            try:
                valid = validator.is_valid(json.loads(text))
            except json.JSONDecodeError:
                valid = False
            check(not valid, f"the reference finds this 'invalid' text valid: {text}")
            check(not accepted, f"the grammar accepts an invalid text: {text}")
        check(line['unfinished'] <= 20, f"{line['unfinished']} of 40 random walks did not finish")
        for text in line["outputs"]:
            drawn += 1
            try:
                value = json.loads(text)
            except json.JSONDecodeError as e:
                check(False, f"a drawn output is not JSON ({e}): {text!r}")
                continue
            errors = [e.message for e in validator.iter_errors(value)]
            check(not errors, f"a drawn output does not validate ({errors[:1]}): {text!r}")
    print(f"check_schema_grammar: {len(cases)} schemas, {drawn} drawn outputs")
    print(f"check_schema_grammar: {failures} failures")
    sys.exit(1 if failures else 0)


main()
