#!/usr/bin/env python3
"""Fake LLM server for forja's end-to-end tests.

Speaks real HTTP/1.1 on 127.0.0.1 and answers each request from a fixture
file (tests/fakes/fixtures/*.json): a status, headers, and either a body or a
list of Server-Sent Events, delivered with controllable chunking, delays,
stalls and disconnects.  A script says which fixture answers which request.

    python3 tests/fakes/llm_server.py --port 0 --script FILE [--log FILE]

prints exactly one line "PORT <n>" on stdout once listening, then serves until
SIGTERM/SIGINT.  See tests/fakes/README.md for the script and fixture formats.
Standard library only (Python 3.11).
"""

import argparse
import copy
import datetime
import itertools
import json
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURES = os.path.join(HERE, "fixtures")

FIXTURE_KEYS = {"description", "api", "status", "reason", "headers", "body", "body_text",
                "json_indent", "events", "delivery", "check_request", "expect", "expected"}
DELIVERY_KEYS = {"transfer", "chunking", "seed", "chunk_min", "chunk_max", "split_inside",
                 "delay_ms", "first_byte_delay_ms", "body_delay_ms", "stall_after_bytes",
                 "stall_ms", "disconnect_after_bytes", "disconnect", "omit_done",
                 "no_final_newline", "line_ending"}
APIS = {"openai-chat", "openai-models", "anthropic-messages", "anthropic-models",
        "ollama-tags", "ollama-version"}
# Where each API lives; a request matches when its path ends with the suffix
# (so any base prefix works: /v1/chat/completions, /api/v1/chat/completions).
API_ENDPOINTS = {
    "openai-chat": ("POST", "/chat/completions"),
    "openai-models": ("GET", "/models"),
    "anthropic-messages": ("POST", "/messages"),
    "anthropic-models": ("GET", "/models"),
    "ollama-tags": ("GET", "/api/tags"),
    "ollama-version": ("GET", "/api/version"),
}
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 413: "Payload Too Large", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout", 529: "Site Overloaded"}


# Keys of a sequence entry that say which requests it may answer (not part of the fixture).
CONDITION_KEYS = {"when_last", "when_turn"}


class FixtureError(Exception):
    pass


def entry_conditions(entry):
    """The conditions of a script entry ({} for none); FixtureError when they are malformed."""
    if not isinstance(entry, dict):
        return {}
    cond = {k: entry[k] for k in CONDITION_KEYS if k in entry}
    if cond.get("when_last", "user") not in ("user", "tool", "assistant"):
        raise FixtureError(f"when_last must be user, tool or assistant, not {cond['when_last']!r}")
    turn = cond.get("when_turn", 0)
    if not isinstance(turn, int) or isinstance(turn, bool) or turn < 0:
        raise FixtureError(f"when_turn must be an integer >= 0, not {turn!r}")
    return cond


def request_facts(body):
    """What conditions look at: the role of the last message ("tool" for an OpenAI tool
    message and for an Anthropic user message holding tool_result blocks) and the turn
    (how many assistant messages the request carries)."""
    msgs = body.get("messages") if isinstance(body, dict) else None
    msgs = [m for m in msgs if isinstance(m, dict)] if isinstance(msgs, list) else []
    last = msgs[-1].get("role") if msgs else None
    if last == "user" and isinstance(msgs[-1].get("content"), list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result"
            for b in msgs[-1]["content"]):
        last = "tool"
    return {"when_last": last, "when_turn": sum(m.get("role") == "assistant" for m in msgs)}


def meets(entry, facts):
    return all(facts.get(k) == v for k, v in entry_conditions(entry).items())


# ---------------------------------------------------------------- fixtures

def deep_merge(base, over):
    """Returns base with the keys of over applied; nested dicts merge, the rest replaces."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class FixtureStore:
    def __init__(self, fixtures_dir, script_dir):
        self.fixtures_dir = fixtures_dir
        self.script_dir = script_dir

    def path_of(self, name):
        if "/" in name or name.endswith(".json"):
            return name if os.path.isabs(name) else os.path.join(self.script_dir, name)
        return os.path.join(self.fixtures_dir, name + ".json")

    def load_file(self, name):
        path = self.path_of(name)
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except OSError as e:
            raise FixtureError(f"fixture {name!r}: cannot read {path}: {e.strerror}")
        except json.JSONDecodeError as e:
            raise FixtureError(f"fixture {name!r}: {path}: invalid JSON: {e}")

    def resolve(self, entry):
        """A script entry (a name, or an object: inline fixture, or {"fixture": name, ...}
        overrides) -> (label, fixture dict)."""
        if isinstance(entry, dict):
            entry_conditions(entry)
            entry = {k: v for k, v in entry.items() if k not in CONDITION_KEYS}
        if isinstance(entry, str):
            fx, label = self.load_file(entry), entry
        elif isinstance(entry, dict) and "fixture" in entry:
            over = {k: v for k, v in entry.items() if k != "fixture"}
            fx = deep_merge(self.load_file(entry["fixture"]), over)
            label = entry["fixture"] + ("+" + ",".join(sorted(over)) if over else "")
        elif isinstance(entry, dict):
            fx, label = copy.deepcopy(entry), "inline"
        else:
            raise FixtureError(f"script entry must be a name or an object, not {entry!r}")
        validate_fixture(label, fx)
        return label, fx


def validate_fixture(label, fx):
    def bad(msg):
        raise FixtureError(f"fixture {label!r}: {msg}")
    if not isinstance(fx, dict):
        bad("must be a JSON object")
    unknown = set(fx) - FIXTURE_KEYS
    if unknown:
        bad(f"unknown keys {sorted(unknown)}")
    if sum(k in fx for k in ("body", "body_text", "events")) > 1:
        bad("give at most one of body, body_text, events")
    if fx.get("api") is not None and fx["api"] not in APIS:
        bad(f"api must be one of {sorted(APIS)}")
    if not isinstance(fx.get("status", 200), int):
        bad("status must be an integer")
    headers = fx.get("headers", {})
    pairs = headers.items() if isinstance(headers, dict) else headers
    for pair in pairs:
        if len(pair) != 2 or not all(isinstance(x, str) for x in pair):
            bad("headers must be an object of strings or a list of [name, value]")
        if pair[0].lower() in ("content-length", "transfer-encoding", "connection"):
            bad(f"header {pair[0]} is set by delivery.transfer, not by the fixture")
        try:
            (pair[0] + pair[1]).encode("latin-1")
        except UnicodeEncodeError:
            bad(f"header {pair[0]} is not Latin-1 text")
    for ev in fx.get("events", []):
        if not isinstance(ev, dict) or not set(ev) <= {"event", "data", "id", "retry",
                                                         "comment", "raw"}:
            bad(f"bad event {ev!r}")
    d = fx.get("delivery", {})
    unknown = set(d) - DELIVERY_KEYS
    if unknown:
        bad(f"unknown delivery keys {sorted(unknown)}")
    if d.get("transfer", "chunked") not in ("chunked", "length", "close"):
        bad("delivery.transfer must be chunked, length or close")
    ch = d.get("chunking", "events")
    if not (ch in ("whole", "events", "lines", "bytes", "random")
            or (isinstance(ch, list) and all(isinstance(n, int) and n > 0 for n in ch))):
        bad("delivery.chunking must be whole, events, lines, bytes, random or a list of sizes")
    if d.get("line_ending", "\n") not in ("\n", "\r\n", "\r"):
        bad("delivery.line_ending must be \\n, \\r\\n or \\r")
    if d.get("disconnect", "fin") not in ("fin", "rst"):
        bad("delivery.disconnect must be fin or rst")


def render_body(fx):
    """-> (body bytes, sorted cut points at event ends, cut points at line ends)."""
    d = fx.get("delivery", {})
    if "events" in fx:
        nl = d.get("line_ending", "\n")
        out, event_ends, line_ends = bytearray(), [], []

        def line(s):
            out.extend((s + nl).encode("utf-8"))
            line_ends.append(len(out))
        for ev in fx["events"]:
            data = ev.get("data")
            if d.get("omit_done") and data == "[DONE]":
                continue
            if "raw" in ev:
                out.extend(ev["raw"].encode("utf-8"))
                line_ends.append(len(out))
                event_ends.append(len(out))
                continue
            if "comment" in ev:
                line(": " + ev["comment"] if ev["comment"] else ":")
            if "event" in ev:
                line("event: " + ev["event"])
            if "id" in ev:
                line("id: " + str(ev["id"]))
            if "retry" in ev:
                line("retry: " + str(ev["retry"]))
            if data is not None:
                if not isinstance(data, str):
                    data = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
                for part in data.split("\n"):
                    line("data: " + part)
            line("")
            event_ends.append(len(out))
        body = bytes(out)
        if d.get("no_final_newline"):
            body = body.rstrip(b"\r\n")
        return body, event_ends, line_ends
    if "body_text" in fx:
        body = fx["body_text"].encode("utf-8")
    elif "body" in fx:
        indent = fx.get("json_indent")
        text = json.dumps(fx["body"], ensure_ascii=False, indent=indent,
                          separators=None if indent else (",", ":"))
        body = (text + "\n" if indent else text).encode("utf-8")
    else:
        body = b""
    return body, [], []


def cut_points(fx, body, event_ends, line_ends):
    """Byte offsets where the body is split into separate writes."""
    d = fx.get("delivery", {})
    n = len(body)
    ch = d.get("chunking", "events" if "events" in fx else "whole")
    if ch == "whole":
        cuts = set()
    elif ch == "events":
        cuts = set(event_ends)
    elif ch == "lines":
        cuts = set(line_ends)
    elif ch == "bytes":
        cuts = set(range(1, n))
    elif ch == "random":
        rng = random.Random(d.get("seed", 0))
        lo, hi = d.get("chunk_min", 1), d.get("chunk_max", 16)
        cuts, pos = set(), 0
        while pos < n:
            pos += rng.randint(lo, hi)
            cuts.add(pos)
    else:  # explicit sizes; what is left after the list goes out in one write
        cuts = set(itertools.accumulate(ch))
    for s in d.get("split_inside", []):
        enc = s.encode("utf-8")
        start = body.find(enc)
        while start >= 0:
            cuts.add(start + max(1, len(enc) // 2))
            start = body.find(enc, start + 1)
    for key in ("stall_after_bytes", "disconnect_after_bytes"):
        if key in d:
            cuts.add(d[key])
    return sorted(c for c in cuts if 0 < c < n)


# ---------------------------------------------------------------- request checks

def api_error(api, status, message, etype=None, param=None, code=None):
    """An error body in the real shape of the fixture's API."""
    if api and api.startswith("anthropic"):
        etype = etype or {400: "invalid_request_error", 401: "authentication_error",
                          404: "not_found_error"}.get(status, "api_error")
        return {"type": "error", "error": {"type": etype, "message": message},
                "request_id": "req_fake_check"}
    if api and api.startswith("ollama"):
        return {"error": message}
    etype = etype or ("server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


def header(headers, name):
    for k, v in headers:
        if k.lower() == name.lower():
            return v
    return None


def check_openai_chat(body, want_stream, problems):
    def p(msg):
        problems.append(msg)
    if not isinstance(body.get("model"), str) or not body["model"]:
        p("Missing required parameter: 'model'.")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        p("Missing required parameter: 'messages'." if msgs is None
          else "Invalid 'messages': expected a non-empty array.")
        msgs = []
    pending = {}  # tool_call_id -> index of the assistant message that made it
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            p(f"Invalid type for 'messages[{i}]': expected an object.")
            continue
        role = m.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            p(f"Invalid value for 'messages[{i}].role': {role!r}.")
            continue
        c = m.get("content")
        if role == "tool":
            if not isinstance(c, (str, list)):
                p(f"Missing required parameter: 'messages[{i}].content'." if c is None else
                  f"Invalid type for 'messages[{i}].content': expected a string or an array.")
            tid = m.get("tool_call_id")
            if not isinstance(tid, str):
                p(f"Missing required parameter: 'messages[{i}].tool_call_id'.")
            elif tid not in pending:
                p(f"Invalid parameter: messages with role 'tool' must be a response to a "
                  f"preceeding message with 'tool_calls' (messages[{i}].tool_call_id={tid!r}).")
            else:
                del pending[tid]
        elif pending:
            p("An assistant message with 'tool_calls' must be followed by tool messages "
              "responding to each 'tool_call_id'. The following tool_call_ids did not have "
              "response messages: " + ", ".join(pending))
            pending = {}
        if c is not None and not isinstance(c, (str, list)):
            p(f"Invalid type for 'messages[{i}].content': expected a string or an array.")
        if isinstance(c, list):
            for j, part in enumerate(c):
                if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                    p(f"Invalid 'messages[{i}].content[{j}]': expected an object with a type.")
        if role == "assistant" and m.get("tool_calls") is not None:
            tcs = m["tool_calls"]
            if not isinstance(tcs, list) or not tcs:
                p(f"Invalid 'messages[{i}].tool_calls': expected a non-empty array.")
                continue
            for j, tc in enumerate(tcs):
                fn = tc.get("function") if isinstance(tc, dict) else None
                if (not isinstance(tc, dict) or not isinstance(tc.get("id"), str)
                        or tc.get("type") != "function" or not isinstance(fn, dict)
                        or not isinstance(fn.get("name"), str)):
                    p(f"Invalid 'messages[{i}].tool_calls[{j}]': expected "
                      "{id, type: 'function', function: {name, arguments}}.")
                    continue
                if not isinstance(fn.get("arguments"), str):
                    p(f"Invalid type for 'messages[{i}].tool_calls[{j}].function.arguments': "
                      "expected a string (JSON text), got "
                      f"{type(fn.get('arguments')).__name__}.")
                if tc["id"] in pending:
                    p(f"Invalid 'messages[{i}].tool_calls[{j}].id': duplicate tool call id "
                      f"{tc['id']!r}.")
                pending[tc["id"]] = i
        elif role == "assistant" and c is None:
            p(f"Invalid value for 'messages[{i}].content': expected a string, got null "
              "(an assistant message without 'tool_calls' needs content).")
        elif role in ("system", "developer", "user") and c is None:
            p(f"Missing required parameter: 'messages[{i}].content'.")
    if pending:
        p("An assistant message with 'tool_calls' must be followed by tool messages "
          "responding to each 'tool_call_id'. The following tool_call_ids did not have "
          "response messages: " + ", ".join(pending))
    stream = body.get("stream", False)
    if stream not in (True, False):
        p("Invalid type for 'stream': expected a boolean.")
    elif want_stream is not None and stream != want_stream:
        p(f"fake-llm: this fixture answers {'a stream' if want_stream else 'JSON'}, "
          f"so the request must have stream: {str(want_stream).lower()}.")
    if "stream_options" in body and stream is not True:
        p("The 'stream_options' parameter is only allowed when 'stream' is enabled.")
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            p("Invalid type for 'tools': expected an array.")
            tools = []
        elif not tools:
            p("Invalid 'tools': empty array. Expected an array with minimum length 1, but got "
              "an empty array instead.")
        names = set()
        for j, t in enumerate(tools):
            fn = t.get("function") if isinstance(t, dict) else None
            if (not isinstance(t, dict) or t.get("type") != "function"
                    or not isinstance(fn, dict) or not isinstance(fn.get("name"), str)
                    or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", fn["name"])):
                p(f"Invalid 'tools[{j}]': expected {{type: 'function', function: {{name "
                  "matching ^[a-zA-Z0-9_-]{1,64}$, parameters}}.")
                continue
            if fn["name"] in names:
                p(f"Invalid 'tools': duplicate function name {fn['name']!r}.")
            names.add(fn["name"])
            if "parameters" in fn and not isinstance(fn["parameters"], dict):
                p(f"Invalid type for 'tools[{j}].function.parameters': expected an object.")
            elif "parameters" in fn and fn["parameters"].get("type") != "object":
                p(f"Invalid schema for function '{fn['name']}': schema must be a JSON Schema of "
                  f"'type: \"object\"', got 'type: \"{fn['parameters'].get('type')}\"'.")
    for k in ("tool_choice", "parallel_tool_calls"):
        if k in body and not tools:
            p(f"Invalid value for '{k}': '{k}' is only allowed when 'tools' are specified.")
    for k in ("max_tokens", "max_completion_tokens"):
        if k in body and not (isinstance(body[k], int) and body[k] > 0):
            p(f"Invalid '{k}': expected a positive integer.")


def check_anthropic_messages(body, headers, want_stream, problems):
    def p(msg):
        problems.append(msg)
    if not header(headers, "x-api-key") and not header(headers, "authorization"):
        p("x-api-key header is required")
    if not isinstance(body.get("model"), str) or not body["model"]:
        p("model: Field required")
    mt = body.get("max_tokens")
    if mt is None:
        p("max_tokens: Field required")
    elif not isinstance(mt, int) or isinstance(mt, bool) or mt < 1:
        p("max_tokens: Input should be a valid integer greater than or equal to 1")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        p("messages: Field required" if msgs is None
          else "messages: at least one message is required")
        msgs = []
    if "system" in body and not isinstance(body["system"], (str, list)):
        p("system: Input should be a valid string or a list of text blocks")
    prev_tool_uses, all_tool_uses, prev_role = set(), set(), None
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            p(f"messages.{i}: Input should be a valid dictionary")
            continue
        role = m.get("role")
        if role == "system":
            p(f"messages.{i}: Unexpected role \"system\". The Messages API accepts a top-level "
              "`system` parameter, not \"system\" as an input message role.")
            continue
        if role not in ("user", "assistant"):
            p(f"messages.{i}.role: Input should be 'user' or 'assistant'")
            continue
        if i == 0 and role != "user":
            p("messages: first message must use the \"user\" role")
        if role == prev_role:
            # the API merges these today; forja must not rely on it
            p(f"messages: roles must alternate between \"user\" and \"assistant\", but found "
              f"multiple \"{role}\" roles in a row (messages.{i})")
        prev_role = role
        c = m.get("content")
        blocks = [] if isinstance(c, str) else c
        if not isinstance(blocks, list):
            p(f"messages.{i}.content: Input should be a valid string or list")
            blocks = []
        if c in ("", []) and not (role == "assistant" and i == len(msgs) - 1):
            p(f"messages.{i}: all messages must have non-empty content except for the "
              "optional final assistant message")
        tool_uses, results, seen_other = set(), set(), False
        for j, b in enumerate(blocks):
            t = b.get("type") if isinstance(b, dict) else None
            if t not in ("text", "image", "document", "tool_use", "tool_result", "thinking",
                         "redacted_thinking", "server_tool_use", "web_search_tool_result"):
                p(f"messages.{i}.content.{j}: Input tag {t!r} found using 'type' does not "
                  "match any of the expected tags")
                continue
            if t != "tool_result":
                seen_other = True
            if t == "text":
                if not isinstance(b.get("text"), str):
                    p(f"messages.{i}.content.{j}.text: Field required")
                elif not b["text"]:
                    p(f"messages.{i}.content.{j}: text content blocks must be non-empty")
            elif t == "thinking":
                if role != "assistant":
                    p(f"messages.{i}.content.{j}: thinking blocks are only allowed in "
                      "assistant messages")
                for k in ("thinking", "signature"):
                    if not isinstance(b.get(k), str):
                        p(f"messages.{i}.content.{j}.thinking.{k}: Field required")
            elif t == "tool_use":
                if role != "assistant":
                    p(f"messages.{i}.content.{j}: tool_use blocks are only allowed in "
                      "assistant messages")
                for k in ("id", "name"):
                    if not isinstance(b.get(k), str) or not b[k]:
                        p(f"messages.{i}.content.{j}.tool_use.{k}: Field required")
                if not isinstance(b.get("input"), dict):
                    p(f"messages.{i}.content.{j}.input: Input should be a valid dictionary")
                if b.get("id") in all_tool_uses:
                    p(f"messages.{i}.content.{j}: `tool_use` ids must be unique")
                tool_uses.add(b.get("id"))
                all_tool_uses.add(b.get("id"))
            elif t == "tool_result":
                if role != "user":
                    p(f"messages.{i}.content.{j}: tool_result blocks are only allowed in "
                      "user messages")
                elif seen_other:
                    p(f"messages.{i}.content.{j}: tool_result blocks must come first in the "
                      "user message content, before any other block")
                if "content" in b and not isinstance(b["content"], (str, list)):
                    p(f"messages.{i}.content.{j}.tool_result.content: Input should be a valid "
                      "string or list")
                if "is_error" in b and not isinstance(b["is_error"], bool):
                    p(f"messages.{i}.content.{j}.tool_result.is_error: Input should be a valid "
                      "boolean")
                results.add(b.get("tool_use_id"))
                if b.get("tool_use_id") not in prev_tool_uses:
                    p(f"messages.{i}.content.{j}: unexpected `tool_use_id` found in "
                      f"`tool_result` blocks: {b.get('tool_use_id')}. Each `tool_result` block "
                      "must have a corresponding `tool_use` block in the previous message.")
        missing = prev_tool_uses - results
        if missing:
            p(f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
              f"immediately after: {', '.join(sorted(map(str, missing)))}. Each `tool_use` "
              "block must have a corresponding `tool_result` block in the next message.")
        prev_tool_uses = tool_uses
    stream = body.get("stream", False)
    if stream not in (True, False):
        p("stream: Input should be a valid boolean")
    elif want_stream is not None and stream != want_stream:
        p(f"fake-llm: this fixture answers {'a stream' if want_stream else 'JSON'}, "
          f"so the request must have stream: {str(want_stream).lower()}.")
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        p("tools: Input should be a valid list")
        tools = []
    names = set()
    for j, t in enumerate(tools or []):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            p(f"tools.{j}.name: Field required")
            continue
        if "type" in t:  # a server tool (web_search_20250305, ...)
            continue
        if not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", t["name"]):
            p(f"tools.{j}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        if t["name"] in names:
            p("tools: Tool names must be unique.")
        names.add(t["name"])
        if not isinstance(t.get("input_schema"), dict):
            p(f"tools.{j}.custom.input_schema: Field required")
        elif t["input_schema"].get("type") != "object":
            p(f"tools.{j}.custom.input_schema.type: Input should be 'object'")
    if "tool_choice" in body and not tools:
        p("tool_choice may only be specified while providing tools.")
    th = body.get("thinking")
    if isinstance(th, dict) and th.get("type") == "enabled":
        bt = th.get("budget_tokens")
        if not isinstance(bt, int) or bt < 1024:
            p("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        elif isinstance(mt, int) and mt <= bt:
            p("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
              "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking")


def matches_expect(want, got):
    """Subset match: every key of want must be in got with a matching value (objects
    recursively, lists element by element with equal lengths); true only requires presence."""
    if want is True:
        return got is not None
    if isinstance(want, dict):
        return isinstance(got, dict) and all(
            k in got and matches_expect(v, got[k]) for k, v in want.items())
    if isinstance(want, list):
        return (isinstance(got, list) and len(want) == len(got)
                and all(matches_expect(w, g) for w, g in zip(want, got)))
    return want == got


def check_request(fx, method, path, headers, raw_body, body, do_shape):
    """-> (status, problems); problems empty when the request is fine."""
    problems = []
    api = fx.get("api")
    if do_shape and api in API_ENDPOINTS:
        want_method, suffix = API_ENDPOINTS[api]
        if method != want_method or not path.split("?")[0].endswith(suffix):
            return 404, [f"Invalid URL ({method} {path.split('?')[0]}); fake-llm: this "
                         f"fixture is for {want_method} .../{suffix.lstrip('/')}"]
    if do_shape and method == "POST" and api in ("openai-chat", "anthropic-messages"):
        ctype = header(headers, "content-type") or ""
        if not ctype.lower().startswith("application/json"):
            problems.append(f"Content-Type must be application/json, got {ctype!r}")
        if not isinstance(body, dict):
            problems.append("We could not parse the JSON body of your request. "
                            f"(fake-llm: {len(raw_body)} bytes, not a JSON object)")
        else:
            want_stream = "events" in fx if fx.get("status", 200) == 200 else None
            if api == "openai-chat":
                check_openai_chat(body, want_stream, problems)
            else:
                check_anthropic_messages(body, headers, want_stream, problems)
    exp = fx.get("expect") or {}
    for name, want in (exp.get("headers") or {}).items():
        got = header(headers, name)
        if want is None and got is not None:
            problems.append(f"fake-llm expect: header {name} must be absent")
        elif want is not None and not matches_expect(want, got):
            problems.append(f"fake-llm expect: header {name} must be {want!r}, got {got!r}")
    if "body" in exp and not matches_expect(exp["body"], body):
        problems.append(f"fake-llm expect: body does not contain {json.dumps(exp['body'])}")
    if "path" in exp and path.split("?")[0] != exp["path"]:
        problems.append(f"fake-llm expect: path must be {exp['path']}, got {path}")
    return (400 if problems else 0), problems


# ---------------------------------------------------------------- server

class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, opts, store, script):
        super().__init__(addr, Handler)
        self.opts = opts
        self.store = store
        self.routes = script.get("routes", {})
        self.sequence = script.get("sequence", [])
        self.check_all = opts.check_request or bool(script.get("check_request"))
        self.lock = threading.Lock()
        self.used = set()  # sequence indexes that have answered
        self.request_count = 0
        self.conn_ids = itertools.count(1)
        self.start = time.monotonic()
        self.log = open(opts.log, "a", encoding="utf-8") if opts.log else None

    def pick(self, method, path, body):
        """-> (n, where, entry): a route whose pattern matches, else the first unused
        sequence entry whose conditions the request meets (the last such entry repeats
        forever once every one is used)."""
        p = path.split("?")[0]
        best = None
        for key, entry in self.routes.items():
            m, _, pat = key.rpartition(" ")
            if m and m.upper() != method:
                continue
            if p == pat or p.endswith(pat if pat.startswith("/") else "/" + pat):
                if best is None or len(pat) > len(best[0]):
                    best = (pat, key, entry)
        facts = request_facts(body)
        with self.lock:
            self.request_count += 1
            n = self.request_count
            if best:
                return n, "route " + best[1], best[2]
            fits = [i for i, e in enumerate(self.sequence) if meets(e, facts)]
            unused = [i for i in fits if i not in self.used]
            if unused:
                self.used.add(unused[0])
                return n, f"sequence[{unused[0]}]", self.sequence[unused[0]]
            if fits:
                return n, f"sequence[{fits[-1]}]", self.sequence[fits[-1]]
            return n, "none", None

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def write_log(self, rec):
        if self.log:
            with self.lock:
                self.log.write(json.dumps(rec, ensure_ascii=False) + "\n")
                self.log.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-llm/1"
    sys_version = ""

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn_id = next(self.server.conn_ids)
        self.req_on_conn = 0

    def log_message(self, fmt, *args):
        if self.server.opts.verbose:
            sys.stderr.write("fake-llm: %s\n" % (fmt % args))

    def read_body(self):
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out.extend(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        srv = self.server
        self.req_on_conn += 1
        raw = self.read_body()
        headers = list(self.headers.items())
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
        n, where, entry = srv.pick(self.command, self.path, body)
        rec = {"n": n, "time": datetime.datetime.now(datetime.timezone.utc)
               .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
               "t": round(time.monotonic() - srv.start, 3), "conn": self.conn_id,
               "req_on_conn": self.req_on_conn, "method": self.command, "path": self.path,
               "http_version": self.request_version, "headers": {}}
        for k, v in headers:
            prev = rec["headers"].get(k)
            rec["headers"][k] = v if prev is None else (prev if isinstance(prev, list)
                                                       else [prev]) + [v]
        if body is not None or not raw:
            rec["body"] = body
        else:
            rec["body_text"] = raw.decode("utf-8", "replace")
        rec["answer"] = where
        try:
            if entry is None:
                facts = request_facts(body)
                raise FixtureError(f"no route and no script entry for {self.command} {self.path}"
                                   + (f" (last message: {facts['when_last']}, turn "
                                      f"{facts['when_turn']})" if srv.sequence else ""))
            label, fx = srv.store.resolve(entry)
        except FixtureError as e:
            rec.update(fixture=None, status=500, error=str(e))
            srv.write_log(rec)
            sys.stderr.write(f"fake-llm: request #{n}: {e}\n")
            return self.send_simple(500, {"error": {"message": "fake-llm: " + str(e),
                                                    "type": "server_error", "param": None,
                                                    "code": None}}, {})
        rec["fixture"] = label
        api = fx.get("api")
        p = self.path.split("?")[0]
        if ((p.endswith("/messages") or (api or "").startswith("anthropic"))
                and not header(headers, "anthropic-version")):
            # The real API refuses this before anything else, whatever the script says.
            rec.update(status=400, check_failures=["anthropic-version: header is required"])
            srv.write_log(rec)
            return self.send_simple(400, {"type": "error", "error": {
                "type": "invalid_request_error",
                "message": "anthropic-version: header is required"},
                "request_id": "req_fake_no_version"}, {"request-id": "req_fake_no_version"})
        do_shape = fx.get("check_request", srv.check_all)
        status, problems = check_request(fx, self.command, self.path, headers, raw, body,
                                         do_shape)
        if problems:
            rec.update(status=status, check_failures=problems)
            srv.write_log(rec)
            sys.stderr.write(f"fake-llm: request #{n} ({self.command} {self.path}) failed "
                             "the request check:\n" + "".join(f"  - {x}\n" for x in problems))
            err = api_error(api, status, "; ".join(problems),
                            code="fake_check_failed" if api and api.startswith("openai") else None)
            err["fake_check_failures"] = problems
            return self.send_simple(status, err, {"X-Fake-Check": "failed"})
        rec["status"] = fx.get("status", 200)
        srv.write_log(rec)
        self.send_fixture(fx)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = handle_any

    def send_simple(self, status, obj, extra):
        fx = {"status": status, "headers": dict(extra, **{"Content-Type": "application/json"}),
              "body": obj, "delivery": {"transfer": "length"}}
        self.send_fixture(fx)

    def send_fixture(self, fx):
        d = fx.get("delivery", {})
        status = fx.get("status", 200)
        body, event_ends, line_ends = render_body(fx)
        cuts = cut_points(fx, body, event_ends, line_ends)
        transfer = d.get("transfer", "chunked" if "events" in fx else "length")
        hdrs = fx.get("headers", {})
        hdrs = list(hdrs.items()) if isinstance(hdrs, dict) else [tuple(h) for h in hdrs]
        if not any(k.lower() == "content-type" for k, _ in hdrs):
            hdrs.append(("Content-Type", "text/event-stream; charset=utf-8" if "events" in fx
                         else "application/json"))
        if transfer == "chunked":
            hdrs.append(("Transfer-Encoding", "chunked"))
        elif transfer == "length":
            hdrs.append(("Content-Length", str(len(body))))
        ends_conn = transfer == "close" or "disconnect_after_bytes" in d
        if ends_conn or self.close_connection:
            hdrs.append(("Connection", "close"))
            self.close_connection = True
        head = [f"HTTP/1.1 {status} {fx.get('reason') or REASONS.get(status, 'Status')}",
                "Date: " + self.date_time_string(), "Server: fake-llm/1"]
        head += [f"{k}: {v}" for k, v in hdrs]
        sock = self.connection
        try:
            self.sleep_ms(d.get("first_byte_delay_ms", 0))
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            self.sleep_ms(d.get("body_delay_ms", 0))
            limit = d.get("disconnect_after_bytes")
            stall_at = d.get("stall_after_bytes")
            for i, (a, b) in enumerate(zip([0] + cuts, cuts + [len(body)])):
                if limit is not None and a >= limit:
                    break
                if i and a != stall_at:
                    self.sleep_ms(d.get("delay_ms", 0))
                if a == stall_at:
                    self.sleep_ms(d.get("stall_ms", 0))
                piece = body[a:b]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if transfer == "chunked"
                             else piece)
            if limit is not None:  # even past the end: then only the last chunk is missing
                return self.cut(d.get("disconnect", "fin"))
            if transfer == "chunked":
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def cut(self, how):
        """Ends the connection mid-body: FIN (orderly close, no terminating chunk) or RST."""
        self.close_connection = True
        sock = self.connection
        if how == "rst":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            sock.close()
        else:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @staticmethod
    def sleep_ms(ms):
        if ms:
            time.sleep(ms / 1000.0)


# ---------------------------------------------------------------- lint

def reassemble_openai(events):
    out = {"content": "", "reasoning": "", "tool_calls": [], "finish_reason": None,
           "usage": None, "done": False, "error": None}
    calls = {}
    for ev in events:
        data = ev.get("data")
        if data == "[DONE]":
            out["done"] = True
            continue
        if data is None:
            continue
        obj = json.loads(data) if isinstance(data, str) else data
        if obj.get("error"):
            out["error"] = obj["error"]
        if obj.get("usage"):
            out["usage"] = obj["usage"]
        for ch in obj.get("choices") or []:
            delta = ch.get("delta") or {}
            out["content"] += delta.get("content") or ""
            out["reasoning"] += delta.get("reasoning_content") or delta.get("reasoning") or ""
            for tc in delta.get("tool_calls") or []:
                c = calls.setdefault(tc["index"], {"id": None, "name": None, "arguments": ""})
                c["id"] = tc.get("id") or c["id"]
                fn = tc.get("function") or {}
                c["name"] = fn.get("name") or c["name"]
                c["arguments"] += fn.get("arguments") or ""
            if ch.get("finish_reason"):
                out["finish_reason"] = ch["finish_reason"]
    for i in sorted(calls):
        c = calls[i]
        c["arguments"] = json.loads(c["arguments"])
        out["tool_calls"].append(c)
    return out


def reassemble_anthropic(events):
    out = {"content": [], "stop_reason": None, "usage": None, "error": None, "stopped": False}
    blocks, state, order = {}, {}, []
    for ev in events:
        data = ev.get("data")
        if data is None:
            continue
        obj = json.loads(data) if isinstance(data, str) else data
        t = obj["type"]
        if ev.get("event") != t:
            raise ValueError(f"event name {ev.get('event')!r} differs from data type {t!r}")
        order.append(t)
        if t == "content_block_start":
            i = obj["index"]
            if i in blocks:
                raise ValueError(f"block {i} started twice")
            blocks[i] = dict(obj["content_block"])
            blocks[i].setdefault("_json", "")
            state[i] = "open"
        elif t == "content_block_delta":
            i, dl = obj["index"], obj["delta"]
            if state.get(i) != "open":
                raise ValueError(f"delta for block {i} that is not open")
            b = blocks[i]
            if dl["type"] == "text_delta":
                b["text"] += dl["text"]
            elif dl["type"] == "thinking_delta":
                b["thinking"] += dl["thinking"]
            elif dl["type"] == "signature_delta":
                b["signature"] += dl["signature"]
            elif dl["type"] == "input_json_delta":
                b["_json"] += dl.get("partial_json", "")
            else:
                raise ValueError(f"unknown delta type {dl['type']}")
        elif t == "content_block_stop":
            state[obj["index"]] = "closed"
        elif t == "message_delta":
            out["stop_reason"] = obj["delta"].get("stop_reason")
            out["usage"] = obj.get("usage")
        elif t == "message_stop":
            out["stopped"] = True
        elif t == "error":
            out["error"] = obj["error"]
    if order and order[0] != "message_start":
        raise ValueError("first event is not message_start")
    if out["stopped"] and (order[-1] != "message_stop" or "message_delta" not in order
                           or any(s != "closed" for s in state.values())):
        raise ValueError("message_stop must come last, after message_delta and every "
                         "content_block_stop")
    for i in sorted(blocks):
        b = blocks[i]
        js = b.pop("_json")
        if b["type"] == "tool_use":
            b["input"] = json.loads(js) if js else b.get("input", {})
        out["content"].append(b)
    return out


def lint(paths):
    failed = 0
    for path in paths:
        name = os.path.basename(path)[:-5]
        try:
            store = FixtureStore(os.path.dirname(path), os.path.dirname(path))
            _, fx = store.resolve(name)
            render_body(fx)
            if "events" in fx and fx.get("api") == "openai-chat":
                got = reassemble_openai(fx["events"])
            elif "events" in fx and fx.get("api") == "anthropic-messages":
                got = reassemble_anthropic(fx["events"])
            else:
                got = fx.get("body")
            if "expected" in fx and not matches_expect(fx["expected"], got):
                raise FixtureError("reassembled result differs from 'expected':\n  "
                                   + json.dumps(got, ensure_ascii=False))
            print(f"ok {name}")
        except (FixtureError, ValueError, KeyError, TypeError) as e:
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
    return 1 if failed else 0


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake OpenAI/Anthropic/Ollama server for tests.")
    ap.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    ap.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    ap.add_argument("--script", help="JSON script: a list of entries, or "
                    "{sequence, routes, check_request}")
    ap.add_argument("--fixture", action="append", default=[],
                    help="fixture name to append to the sequence (repeatable)")
    ap.add_argument("--fixtures", default=DEFAULT_FIXTURES, help="fixtures directory")
    ap.add_argument("--log", help="append one JSON line per request to this file")
    ap.add_argument("--check-request", action="store_true",
                    help="validate every request's shape against the fixture's api")
    ap.add_argument("--verbose", action="store_true", help="log requests on stderr")
    ap.add_argument("--lint", nargs="*", metavar="FIXTURE.json",
                    help="check fixture files (default: all) and exit")
    opts = ap.parse_args(argv)

    if opts.lint is not None:
        paths = opts.lint or sorted(os.path.join(opts.fixtures, f)
                                    for f in os.listdir(opts.fixtures) if f.endswith(".json"))
        return lint(paths)

    if opts.host not in ("127.0.0.1", "localhost", "::1") and not opts.host.startswith("127."):
        ap.error("--host must be a loopback address")
    script = {}
    script_dir = os.getcwd()
    if opts.script:
        script_dir = os.path.dirname(os.path.abspath(opts.script))
        try:
            with open(opts.script, encoding="utf-8") as f:
                script = json.load(f)
        except (OSError, ValueError) as e:
            ap.error(f"--script {opts.script}: {e}")
        if isinstance(script, list):
            script = {"sequence": script}
        if not isinstance(script, dict) or set(script) - {"sequence", "routes",
                                                          "check_request", "description"}:
            ap.error("--script must be a list or an object with sequence, routes, "
                     "check_request")
    script["sequence"] = list(script.get("sequence", [])) + opts.fixture
    store = FixtureStore(opts.fixtures, script_dir)
    try:  # fail now, not on the Nth request
        for entry in script["sequence"] + list(script.get("routes", {}).values()):
            store.resolve(entry)
    except FixtureError as e:
        sys.stderr.write(f"fake-llm: {e}\n")
        return 2

    family = socket.AF_INET6 if ":" in opts.host else socket.AF_INET
    FakeServer.address_family = family
    srv = FakeServer((opts.host, opts.port), opts, store, script)

    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"PORT {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
        if srv.log:
            srv.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
