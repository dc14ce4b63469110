"""An OpenAI-compatible chat-completions endpoint (`vllm serve`, `trl vllm-serve`, any such API).

One small client behind the LLM judges (`pluralign.rewards.judge`) and `pluralign eval --model M
--base-url URL`. `ChatEndpoint(base_url, model).complete_many(bodies)` sends requests to
`BASE_URL/chat/completions`:

- at most `concurrency` at a time (threads: httpx's client is thread-safe, and the callers are
  plain functions, TRL reward functions included);
- each with a `timeout`, retried up to `retries` times with exponential backoff on what passes
  (HTTP 5xx, 429, a timeout, a refused or dropped connection); other answers are not retried;
- identical requests (same body) are answered once and cached, so that a GRPO group's repeated
  completions or a resumed run cost nothing twice;
- an error a user can fix is a `UsageError` naming the endpoint: unreachable after the retries,
  a refused key, an unknown model, an answer that is not a chat completion.

The key comes from `OPENAI_API_KEY`, read at each request and sent in the Authorization header
only; it is never stored on the object, printed, logged or written. The base URL is the one an
OpenAI client takes, e.g. `http://localhost:8000/v1`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from pluralign.errors import UsageError

KEY_VARIABLE = "OPENAI_API_KEY"
URL_VARIABLE = "OPENAI_BASE_URL"
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_BACKOFF = 30.0


class EndpointError(UsageError):
    """The endpoint could not answer: unreachable, refused, or not an OpenAI-compatible API."""


class _Retryable(Exception):
    """A failure that a later try may not meet (a 5xx, a timeout, a dropped connection)."""


class _Refused(Exception):
    """A 4xx answer other than 401/403/404: the request itself was refused."""

    def __init__(self, status: int, text: str):
        super().__init__(f"HTTP {status}: {text}")
        self.status, self.text = status, text


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


class ChatEndpoint:
    """Chat completions at `base_url` for `model`: concurrency, timeouts, bounded retries, a cache."""

    def __init__(self, base_url: str, model: str, concurrency: int = 16, timeout: float = 120.0,
                 retries: int = 3, backoff: float = 1.0, cache_size: int = 50_000):
        if not base_url or not str(base_url).startswith(("http://", "https://")):
            raise UsageError(f"endpoint URL {base_url!r}: give an http(s) URL such as http://localhost:8000/v1")
        if concurrency < 1 or retries < 0 or timeout <= 0:
            raise UsageError(f"endpoint {base_url}: concurrency >= 1, retries >= 0 and timeout > 0, "
                             f"got {concurrency}, {retries}, {timeout}")
        self.base_url, self.model = str(base_url).rstrip("/"), model
        self.concurrency, self.timeout, self.retries, self.backoff = concurrency, timeout, retries, backoff
        self.structured = True  # cleared when the server refuses `response_format`
        self.stats = {"requests": 0, "cache_hits": 0, "retries": 0}
        self._cache: OrderedDict[str, list[str]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._client = None

    def __repr__(self) -> str:
        return f"ChatEndpoint({self.base_url!r}, model={self.model!r})"

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _http(self):
        if self._client is None:
            import httpx

            limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
            self._client = httpx.Client(timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                                        limits=limits)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- the cache --------------------------------------------------------------------------

    def key(self, body: dict) -> str:
        """The cache key of a request body (with this endpoint's model)."""
        full = {"model": self.model, **body}
        return hashlib.sha256(json.dumps(full, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def cached(self, body: dict) -> list[str] | None:
        key = self.key(body)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
            return found

    def forget(self, body: dict) -> None:
        """Drop a cached answer (the caller could not use it, e.g. a judge reply it could not parse)."""
        with self._lock:
            self._cache.pop(self.key(body), None)

    def _remember(self, body: dict, texts: list[str]) -> None:
        with self._lock:
            self._cache[self.key(body)] = texts
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    # --- one request ------------------------------------------------------------------------

    def _headers(self) -> dict:
        key = os.environ.get(KEY_VARIABLE)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _post_once(self, body: dict) -> list[str]:
        import httpx

        try:
            response = self._http().post(self.url, json=body, headers=self._headers())
        except httpx.TimeoutException:
            raise _Retryable(f"no answer within {self.timeout:g}s") from None
        except httpx.TransportError as err:  # refused, reset, dropped mid-answer
            raise _Retryable(f"{type(err).__name__}: {_snippet(err)}") from None
        if response.status_code in RETRYABLE_STATUS:
            raise _Retryable(f"HTTP {response.status_code}: {_snippet(response.text)}")
        if response.status_code in (401, 403):
            raise EndpointError(f"{self.url} refused the request (HTTP {response.status_code}); "
                                f"set {KEY_VARIABLE} to a key the server accepts")
        if response.status_code == 404:
            raise EndpointError(f"{self.url} answered 404 for model {self.model!r} ({_snippet(response.text)}); "
                                "check the model name the server serves and that the URL ends with /v1")
        if response.status_code >= 400:
            raise _Refused(response.status_code, _snippet(response.text))
        try:
            choices = response.json()["choices"]
            return [str(c["message"]["content"] or "") for c in choices]
        except (ValueError, KeyError, TypeError, IndexError):
            raise EndpointError(f"{self.url} answered something that is not a chat completion "
                                f"({_snippet(response.text)}); is it an OpenAI-compatible server?") from None

    def complete(self, body: dict) -> list[str]:
        """The texts of the choices for one request body (`model` is filled in), from the cache when
        an identical request was answered before."""
        body = {"model": self.model, **body}
        found = self.cached(body)
        if found is not None:
            with self._lock:
                self.stats["cache_hits"] += 1
            return found
        texts = self._with_retries(body)
        self._remember(body, texts)
        return texts

    def _with_retries(self, body: dict) -> list[str]:
        for attempt in range(self.retries + 1):
            with self._lock:
                self.stats["requests"] += 1
            try:
                return self._post_once(body)
            except _Refused as err:
                if "response_format" in body:
                    # Perhaps the server offers no structured output: if it answers without, ask
                    # without it from now on.
                    texts = self._with_retries({k: v for k, v in body.items() if k != "response_format"})
                    self.structured = False
                    return texts
                raise EndpointError(f"{self.url} refused the request (HTTP {err.status}: {err.text})") from None
            except _Retryable as err:
                last = str(err)
                if attempt < self.retries:
                    with self._lock:
                        self.stats["retries"] += 1
                    time.sleep(min(self.backoff * 2 ** attempt, MAX_BACKOFF))
        raise EndpointError(f"cannot get an answer from {self.url} after {self.retries + 1} tries ({last}); "
                            f"is the server running and serving {self.model!r}? Set the URL with --judge-url/"
                            f"--base-url or {URL_VARIABLE}")

    # --- many requests ----------------------------------------------------------------------

    def complete_many(self, bodies: Sequence[dict],
                      on_result: Callable[[int, list[str]], None] | None = None) -> list[list[str]]:
        """Each body's texts, in order; identical bodies are sent once, `concurrency` at a time.
        `on_result(i, texts)` is called as each answer arrives (in the caller's thread, one at a
        time). The first error stops the rest: requests not yet sent are cancelled."""
        results: list[list[str] | None] = [None] * len(bodies)
        by_key: dict[str, list[int]] = {}
        for i, body in enumerate(bodies):
            by_key.setdefault(self.key(body), []).append(i)
        if not by_key:
            return []
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(by_key)))
        pending = {pool.submit(self.complete, bodies[rows[0]]): rows for rows in by_key.values()}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    rows = pending.pop(future)
                    texts = future.result()  # raises the first error
                    for i in rows:
                        results[i] = texts
                        if on_result is not None:
                            on_result(i, texts)
        finally:  # on an error, what was not sent is dropped and the caller does not wait for the rest
            pool.shutdown(wait=not pending, cancel_futures=True)
        return results  # type: ignore[return-value]

