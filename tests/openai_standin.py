"""A stand-in for an OpenAI-compatible server (`vllm serve`), on 127.0.0.1, for the tests.

`StandIn()` listens on a free port of 127.0.0.1 in a daemon thread; `url` is its base URL (with
/v1). It answers `POST /v1/chat/completions` according to `mode`, which a test may change at any
time:
- "good": judge questions (a system message) get `judge(fields, user_text)` as a JSON object,
  where `fields` are the names the rubric asks for (from the JSON schema when structured output
  is asked for, else read from the prompt) and the default judge rates by keywords (below);
  generation requests (no system message) get `n` deterministic texts (`generate`);
- "malformed": a judge reply that is not JSON; "not-chat": HTTP 200 with JSON that is not a chat
  completion; "error": HTTP 500; "slow": "good" after `delay` seconds;
- "gone": the server closes after `gone_after` requests (later ones are refused);
- `refuse_structured`: answer HTTP 400 to any request that carries `response_format`;
- `required_key`: answer HTTP 401 unless the request carries that key.

Every request body and its Authorization header are kept in `requests` and `keys`.
"""

from __future__ import annotations

import json
import re
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIDELITY_FIELDS = ("source_stance", "output_stance", "intensity", "additions", "omissions")


def section(text: str, heading: str) -> str:
    """The text after an English rubric heading (`The summary:`) up to the next blank line."""
    match = re.search(re.escape(heading) + r"\s*\n(.*?)(?:\n\s*\n|$)", text, re.S)
    return match.group(1).strip() if match else ""


def keyword(text: str) -> str:
    """A comment's last word, which the default judge looks for in the summary or sentence."""
    return re.findall(r"\w+", text.lower())[-1]


def default_judge(fields: list[str], text: str) -> dict:
    """Rates by keywords: a numbered comment is fully expressed (4) when its last word is in the summary
    or sentence, else 0; representation is 5 when the opinion's last word is in the summary, else 1;
    a rewrite keeps everything (stance 5 and 5) unless it contains NOT (stance 1: a flip)."""
    if fields and all(f.isdigit() for f in fields):
        target = (section(text, "The summary:") or section(text, "One sentence of the summary:")).lower()
        comments = dict(re.findall(r"^(\d+)\. (.+)$", text, re.M))
        return {f: 4 if keyword(comments[f]) in re.findall(r"\w+", target) else 0 for f in fields}
    if fields == ["score"]:
        opinion = section(text, "Your opinion (you wrote this before reading the summary):")
        return {"score": 5 if keyword(opinion) in section(text, "A summary of the participants' opinions:").lower() else 1}
    output = section(text, "The rewrite (language: en):") or section(text, "The rewrite (language: fr):")
    return {"source_stance": 5, "output_stance": 1 if "NOT" in output else 5, "intensity": 3, "additions": 0,
            "omissions": 0}


def asked_fields(body: dict, text: str) -> list[str]:
    schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema")
    if schema:
        return list(schema["properties"])
    if '"score"' in text:
        return ["score"]
    if "source_stance" in text:
        return list(FIDELITY_FIELDS)
    return re.findall(r"^(\d+)\. ", text, re.M)


def generate(prompt: str, k: int, seed) -> str:
    return f"Participants discussed it (prompt {zlib.crc32(prompt.encode())}, sample {k}, seed {seed})."


class StandIn:
    def __init__(self):
        self.mode, self.delay, self.gone_after, self.refuse_structured = "good", 0.0, None, False
        self.required_key = None  # when set, any other Authorization gets HTTP 401
        self.judge = default_judge
        self.requests: list[dict] = []
        self.keys: list[str | None] = []
        self.lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with standin.lock:
                    standin.requests.append(body)
                    standin.keys.append(self.headers.get("Authorization"))
                    count = len(standin.requests)
                if not self.path.endswith("/v1/chat/completions"):
                    return self.reply(404, {"error": {"message": f"no route {self.path}"}})
                if standin.gone_after is not None and count >= standin.gone_after:
                    threading.Thread(target=standin.close, daemon=True).start()
                if standin.required_key and self.headers.get("Authorization") != f"Bearer {standin.required_key}":
                    return self.reply(401, {"error": {"message": "invalid api key"}})
                if standin.mode == "error":
                    return self.reply(500, {"error": {"message": "internal error"}})
                if standin.mode == "not-chat":  # 200, but not a chat completion
                    return self.reply(200, {"detail": "welcome to the server"})
                if standin.refuse_structured and "response_format" in body:
                    return self.reply(400, {"error": {"message": "response_format is not supported"}})
                if standin.mode == "slow":
                    time.sleep(standin.delay)
                contents = standin.answer(body)
                self.reply(200, {"id": "x", "object": "chat.completion", "model": body.get("model"),
                                 "choices": [{"index": i, "message": {"role": "assistant", "content": c},
                                              "finish_reason": "stop"} for i, c in enumerate(contents)]})

            def reply(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client went away
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.closed = False

    def answer(self, body: dict) -> list[str]:
        messages = body.get("messages") or []
        text = messages[-1]["content"] if messages else ""
        if self.mode == "malformed":
            return ["I would say it is quite good {score: maybe"]
        if messages and messages[0]["role"] == "system":
            return [json.dumps(self.judge(asked_fields(body, text), text))]
        return [generate(text, k, body.get("seed")) for k in range(int(body.get("n") or 1))]

    def judged(self) -> list[dict]:
        """The judge requests received (those with a system message)."""
        return [b for b in self.requests if (b.get("messages") or [{}])[0].get("role") == "system"]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.server.shutdown()
            self.server.server_close()
