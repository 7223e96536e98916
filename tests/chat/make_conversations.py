#!/usr/bin/python3
"""Deterministic conversation corpus for the chat template conformance test.

conversations() returns a list of {"name", "messages", optional "tools"}. Some are meant to
make some templates raise (role alternation, unknown roles, None content); the harness only
requires that both renderers agree. Run directly to dump the corpus as JSON.
"""
import json
import sys

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather — temperature in °C",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City, e.g. 東京 or São Paulo"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            },
            "required": ["location"],
        },
    },
}

FLIGHTS = {
    "type": "function",
    "function": {
        "name": "search_flights",
        "description": "Search flights. Notes may say \"window\" or 'aisle'; paths like C:\\tmp are literal.",
        "parameters": {
            "type": "object",
            "properties": {
                "route": {
                    "type": "object",
                    "properties": {
                        "from": {"type": "string", "description": "IATA code"},
                        "to": {"type": "string", "description": "Zielflughafen «Zürich» ✈️"},
                        "via": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
                    },
                    "required": ["from", "to"],
                },
                "passengers": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "age": {"type": "integer", "minimum": 0, "maximum": 120},
                            "seat": {
                                "type": "object",
                                "properties": {
                                    "row": {"type": "integer"},
                                    "letter": {"type": "string", "enum": ["A", "B", "C", "D"]},
                                },
                            },
                        },
                        "required": ["name"],
                    },
                },
                "budget": {"type": "number", "minimum": 0.5, "maximum": 1e4, "multipleOf": 0.01},
                "flexible": {"type": "boolean", "default": True},
                "notes": {"type": ["string", "null"], "default": None},
                "options": {"type": "object", "properties": {}, "additionalProperties": False},
                "tags": {"type": "array", "items": {"type": "string"}, "default": []},
            },
            "required": ["route", "passengers"],
        },
    },
}

CALC = {
    "type": "function",
    "function": {
        "name": "calculate",
        "description": "Evaluate math such as \"2*(3+4)\" or \\sqrt{x}; {{ not jinja }}",
        "parameters": {
            "type": "object",
            "properties": {"expression": {"type": "string"}, "precision": {"type": "integer", "default": 6}},
            "required": ["expression"],
        },
    },
}

NOW = {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}

ALL_TOOLS = [WEATHER, FLIGHTS, CALC, NOW]


def user(text, **extra):
    return {"role": "user", "content": text, **extra}


def system(text):
    return {"role": "system", "content": text}


def assistant(text, **extra):
    return {"role": "assistant", "content": text, **extra}


def tool(text, call_id=None, name=None):
    m = {"role": "tool", "content": text}
    if call_id is not None:
        m["tool_call_id"] = call_id
    if name is not None:
        m["name"] = name
    return m


def call(name, arguments, call_id=None):
    c = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id is not None:
        c = {"id": call_id, **c}
    return c


def parts(*texts):
    return [{"type": "text", "text": t} for t in texts]


LOREM = " ".join(["Lorem ipsum dolor sit amet, consectetur adipiscing elit."] * 30)
TRICKY = 'She said "hi" & it\'s C:\\path\\to\\file <tag> \\n (a literal backslash-n)'
JINJA_TEXT = "{{ not_a_variable }} and {% if x %} not a tag {% endif %} and {# not a comment #}"
NESTED_ARGS = {
    "route": {"from": "CDG", "to": "ZRH", "via": ["FRA"]},
    "passengers": [{"name": "Zoë", "age": 34, "seat": {"row": 12, "letter": "A"}}, {"name": "李雷"}],
    "budget": 1234.5,
    "floats": [1e21, 1.5e-7, 0.3333333333333333, 100.0, -2.5],
    "flexible": False,
    "notes": None,
    "options": {},
    "tags": ["🛫", "déjà vu"],
    "extra": [],
}


def conversations():
    c = []

    def add(name, messages, tools=None):
        conv = {"name": name, "messages": messages}
        if tools is not None:
            conv["tools"] = tools
        c.append(conv)

    add("single_user", [user("Hello!")])
    add("system_user", [system("You are a helpful assistant."), user("What is 2+2?")])
    add("multi_turn", [user("Hi"), assistant("Hello! How can I help?"), user("Tell me a joke.")])
    add("system_multi_turn", [system("Be brief."), user("One"), assistant("Two"), user("Three"),
                              assistant("Four"), user("Five")])
    add("ends_with_assistant", [user("Say OK"), assistant("OK")])
    add("cjk", [user("你好，世界！今日はいい天気ですね。안녕하세요"), assistant("你好！有什么可以帮你？"), user("谢谢")])
    add("emoji", [user("Great job 🎉🚀 👍🏽 family: 👨‍👩‍👧"), assistant("Thanks 😊")])
    add("accents", [system("Réponds en français, s'il te plaît."), user("Crème brûlée, naïve café, Ångström, Ñandú")])
    add("rtl", [user("مرحبا بالعالم — שלום עולם"), assistant("أهلا ‏וסהלן")])
    add("empty_user", [user("")])
    add("empty_assistant", [user("Say nothing"), assistant(""), user("Thanks")])
    add("whitespace_only", [user("  \n\t "), assistant(" ok ")])
    add("padded", [system("  padded system \n\n"), user("\n\n  padded user  \n"), assistant("\tpadded\t")])
    add("quotes_backslashes", [user(TRICKY), assistant('Use "\\\\" to escape \'\\\'.')])
    add("newlines", [user("line1\nline2\n\n  indented\ttab\r\nwindows\rold mac"), assistant("a\n\nb\n")])
    add("jinja_like_text", [system(JINJA_TEXT), user(JINJA_TEXT)])
    add("numbers_as_text", [user("42"), assistant("3.14"), user("true")])
    add("long", [system("You summarise."), user(LOREM)])
    add("ten_turns", [m for i in range(5) for m in (user(f"question {i}"), assistant(f"answer {i}"))])
    add("user_with_name", [user("Hi, I'm Ana", name="ana"), assistant("Hi Ana")])
    add("two_systems", [system("First system."), system("Second system."), user("Hi")])
    add("consecutive_users", [user("First"), user("Second")])
    add("starts_with_assistant", [assistant("I speak first"), user("Hi")])
    add("unknown_role", [user("Hi"), {"role": "developer", "content": "secret rules"}, user("Hi again")])
    add("parts_user", [user(parts("Describe ", "this."))])
    add("parts_system", [{"role": "system", "content": parts("Sys part 1.", "Sys part 2.")}, user("Hi")])
    add("parts_mixed", [user(parts("Ünïcödé 中文 🎉", 'quote " and \' and \\', "new\nline")),
                        assistant("ok"), user(parts("second"))])
    add("empty_tools_list", [user("No tools today")], [])
    add("tools_user", [user("What's the weather in Paris?")], [WEATHER])
    add("tools_system_user", [system("Use tools wisely."), user("Book me a flight")], ALL_TOOLS)
    add("tool_call_object_args", [
        user("Weather in Tokyo?"),
        assistant("", tool_calls=[call("get_weather", {"location": "東京", "unit": "celsius"}, "call_1")]),
        tool('{"temperature": 21.5, "condition": "晴れ"}', "call_1", "get_weather"),
        assistant("It is 21.5 °C and sunny in Tokyo."),
    ], [WEATHER])
    add("tool_call_string_args", [
        user("Compute 2*(3+4)"),
        assistant("", tool_calls=[call("calculate", '{"expression": "2*(3+4)"}', "c1")]),
        tool("14", "c1"),
    ], [CALC])
    add("parallel_tool_calls", [
        system("You can call several tools at once."),
        user("Weather in Paris and Berlin, and what time is it?"),
        assistant("Let me check.", tool_calls=[
            call("get_weather", {"location": "Paris"}, "a"),
            call("get_weather", {"location": "Berlin", "unit": "fahrenheit"}, "b"),
            call("now", {}, "c"),
        ]),
        tool('{"temp": 18}', "a"), tool('{"temp": 64.4}', "b"), tool("2024-01-01T12:00:00Z", "c"),
        assistant("Paris 18 °C, Berlin 64.4 °F."),
        user("Thanks!"),
    ], ALL_TOOLS)
    add("nested_args", [
        user("Find CDG→ZRH for Zoë and 李雷"),
        assistant("", tool_calls=[call("search_flights", NESTED_ARGS)]),
        tool('{"flights": [{"id": "LX 633", "price": 199.99}], "note": "«ok»"}'),
        assistant("Found LX 633 for 199.99."),
    ], [FLIGHTS])
    add("nested_args_string", [
        user("Same, but args as string"),
        assistant("", tool_calls=[call("search_flights", json.dumps(NESTED_ARGS, ensure_ascii=False))]),
        tool("[]"),
    ], [FLIGHTS])
    add("tool_calls_without_tools", [
        user("Call something"),
        assistant("", tool_calls=[call("now", {})]),
        tool("noon"),
        assistant("It is noon."),
    ])
    add("multi_step_tools", [
        user("Plan a trip"),
        assistant("", tool_calls=[call("get_weather", {"location": "Oslo"})]),
        tool('{"temp": -3}'),
        assistant("", tool_calls=[call("calculate", {"expression": "-3*9/5+32"}), call("now", {})]),
        tool("26.6"), tool("08:00"),
        assistant("Cold: 26.6 °F at 08:00."),
    ], ALL_TOOLS)
    add("content_and_tool_calls", [
        user("Weather?"),
        assistant("Sure, checking \"now\".", tool_calls=[call("get_weather", '{"location": "Rome"}')]),
        tool("sunny"),
    ], [WEATHER])
    add("none_content_tool_call", [
        user("Weather in Lima?"),
        assistant(None, tool_calls=[call("get_weather", '{"location": "Lima"}')]),
        tool("cloudy"),
        assistant("Cloudy in Lima."),
    ], [WEATHER])
    add("none_content_two_calls", [
        user("Two cities"),
        assistant(None, tool_calls=[call("get_weather", '{"location": "A"}'),
                                    call("get_weather", '{"location": "B"}')]),
        tool("1"), tool("2"),
    ], [WEATHER])
    add("reasoning_content", [
        user("Why is the sky blue?"),
        assistant("Rayleigh scattering.", reasoning_content="Short wavelengths scatter more.\n"),
        user("And sunsets?"),
    ])
    add("reasoning_content_last", [
        user("2+2?"),
        assistant("4", reasoning_content="\nTrivial arithmetic.\n"),
    ])
    add("think_in_content", [
        user("Think first"),
        assistant("<think>\nLet me think… 🤔\n</think>\n\nThe answer is 42."),
        user("Again"),
        assistant("<think>second thought</think>Still 42."),
    ])
    add("think_close_only", [user("Hm"), assistant("reasoning without open tag\n</think>\n\nanswer")])
    add("think_with_null_reasoning", [
        user("Q"),
        assistant("<think>\ninner\n</think>\nA", reasoning_content=None),
        user("Q2"),
    ])
    add("think_then_tools", [
        user("Weather in Nairobi, think first"),
        assistant("<think>\nNeed the weather tool.\n</think>\n\n",
                  tool_calls=[call("get_weather", {"location": "Nairobi"})]),
        tool("<tool_response>inner</tool_response>"),
        assistant("<think>\nGot it.\n</think>\n\nWarm."),
    ], [WEATHER])
    add("tool_response_lookalike_user", [
        user("Real question"),
        assistant("ok"),
        user("<tool_response>\nfake\n</tool_response>"),
    ])
    return c


if __name__ == "__main__":
    json.dump(conversations(), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
