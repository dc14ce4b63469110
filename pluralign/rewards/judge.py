"""LLM judges: a served model (`judge:MODEL`) or a local one (`judge-local:ID_OR_PATH`) asked rubrics.

A judge answers `Question`s (`pluralign.rewards.rubric`) with the integer fields of their rubric:
`judge.ask(questions) -> [{field: value}]`, in order, identical questions asked once.

- `RemoteJudge` sends chat completions to an OpenAI-compatible endpoint (`vllm serve MODEL`): at
  `url`, else the URL `set_default_url` was given (`--judge-url`), else `OPENAI_BASE_URL`; the key
  is `OPENAI_API_KEY` (see `pluralign.endpoint`). It asks for the rubric's JSON schema as
  structured output, reads the reply tolerantly, and asks again (`parse_retries` times) when a
  reply does not carry the fields; then it stops with an error that names the endpoint, the
  model, the rubric and the reply. Greedy by default (temperature 0): the same question gets
  the same answer, which the endpoint's cache then serves.
- `LocalJudge` runs a transformers causal LM on the same messages (through its chat template)
  and reads each field from the next-token probabilities of the scale's digits after `{"field": `
  (the expected value, G-Eval style), writing the most likely digit before the next field. It
  cannot answer garbage, so even a tiny random model gives valid (meaningless) scores.

`settings()` is what a signature records: the model and the sampling settings.
"""

from __future__ import annotations

import inspect
import os

from pluralign.endpoint import URL_VARIABLE, ChatEndpoint
from pluralign.errors import UsageError
from pluralign.log import get_logger
from pluralign.rewards.rubric import Question, ReplyError, messages, parse_reply, response_format

logger = get_logger(__name__)
_default_url: str | None = None


def set_default_url(url: str | None) -> None:
    """The endpoint `judge:MODEL` backends use when none is given (the CLI's `--judge-url`)."""
    global _default_url
    _default_url = url


def default_url() -> str | None:
    return _default_url or os.environ.get(URL_VARIABLE) or None


class RemoteJudge:
    kind = "judge"

    def __init__(self, model: str, url: str | None = None, temperature: float = 0.0, max_tokens: int = 512,
                 concurrency: int = 16, timeout: float = 120.0, retries: int = 3, backoff: float = 1.0,
                 parse_retries: int = 1):
        if url is None and default_url() is None:
            raise UsageError(f"judge:{model} needs an OpenAI-compatible endpoint: pass --judge-url URL or set "
                             f"{URL_VARIABLE} (e.g. http://localhost:8000/v1 for `vllm serve {model}`)")
        self.model, self.url = model, url
        self.temperature, self.max_tokens, self.parse_retries = float(temperature), int(max_tokens), parse_retries
        self.endpoint_settings = {"concurrency": concurrency, "timeout": timeout, "retries": retries, "backoff": backoff}
        self._endpoints: dict[str, ChatEndpoint] = {}

    def settings(self) -> dict:
        return {"temperature": self.temperature, "max_tokens": self.max_tokens}

    def endpoint(self) -> ChatEndpoint:
        """The endpoint at the URL in force now (a cached backend follows --judge-url and the environment)."""
        url = self.url or default_url()
        if url is None:
            raise UsageError(f"judge:{self.model}: no endpoint; pass --judge-url URL or set {URL_VARIABLE}")
        if url not in self._endpoints:
            self._endpoints[url] = ChatEndpoint(url, self.model, **self.endpoint_settings)
        return self._endpoints[url]

    def body(self, q: Question, endpoint: ChatEndpoint) -> dict:
        body = {"messages": messages(q), "temperature": self.temperature, "max_tokens": self.max_tokens}
        if endpoint.structured:
            body["response_format"] = response_format(q)
        return body

    def ask(self, questions: list[Question]) -> list[dict[str, float]]:
        endpoint = self.endpoint()
        todo = list(dict.fromkeys(questions))
        answers: dict[Question, dict[str, float]] = {}
        for attempt in range(self.parse_retries + 1):
            bodies = [self.body(q, endpoint) for q in todo]
            failed = []
            for q, body, texts in zip(todo, bodies, endpoint.complete_many(bodies), strict=True):
                try:
                    answers[q] = parse_reply(texts[0] if texts else "", q.fields)
                except ReplyError as err:
                    endpoint.forget(body)  # never serve an unusable reply from the cache
                    failed.append((q, texts[0] if texts else "", err))
            todo = [q for q, _, _ in failed]
            if not todo:
                break
            if attempt < self.parse_retries:
                logger.warning(f"judge {self.model} at {endpoint.base_url}: {len(todo)} unreadable "
                               f"{todo[0].rubric} answer(s); asking again")
        else:
            q, reply, err = failed[0]
            shown = " ".join(reply.split())[:200]
            raise UsageError(f"judge {self.model!r} at {endpoint.url} answers garbage to the {q.rubric} rubric "
                             f"({len(failed)} question(s), {self.parse_retries + 1} tries each): {err} in {shown!r}; "
                             "serve an instruction-tuned model, and keep structured output (response_format) on")
        return [answers[q] for q in questions]


class LocalJudge:
    kind = "judge-local"

    def __init__(self, model: str, device: str | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_name = model
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            self.lm = AutoModelForCausalLM.from_pretrained(model, dtype=dtype).to(self.device).eval()
        except OSError as err:
            raise UsageError(f"judge-local:{model}: cannot load a causal LM from it ({err}); give a model folder "
                             "or a Hub id in the local cache") from None
        self.limit = getattr(self.lm.config, "max_position_embeddings", None) or self.tokenizer.model_max_length
        self._answers: dict[Question, dict[str, float]] = {}
        self._digits: dict[int, int] = {}
        # The key-value cache argument: `cache` since transformers 5.2x, `past_key_values` before.
        self._cache_arg = "cache" if "cache" in inspect.signature(self.lm.forward).parameters else "past_key_values"

    def settings(self) -> dict:
        return {"decoding": "expected-digit"}

    def _digit(self, value: int) -> int:
        if value not in self._digits:
            ids = self.tokenizer(str(value), add_special_tokens=False)["input_ids"]
            if len(ids) != 1:
                raise UsageError(f"judge-local:{self.model_name}: its tokenizer splits {value!r} into {len(ids)} "
                                 "tokens; a local judge reads one-token digits")
            self._digits[value] = ids[0]
        return self._digits[value]

    def _prompt_ids(self, q: Question) -> list[int]:
        chat = messages(q)
        if self.tokenizer.chat_template:
            from jinja2 import TemplateError

            try:
                text = self.tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
            except TemplateError:  # templates without a system role: fold it into the user turn
                merged = [{"role": "user", "content": chat[0]["content"] + "\n\n" + chat[1]["content"]}]
                text = self.tokenizer.apply_chat_template(merged, add_generation_prompt=True, tokenize=False)
            return self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return self.tokenizer("\n\n".join(m["content"] for m in chat))["input_ids"]

    def _read(self, q: Question) -> dict[str, float]:
        import torch

        ids = self._prompt_ids(q)
        pieces = [("{" if k == 0 else ", ") + f'"{f.name}": ' for k, f in enumerate(q.fields)]
        needed = len(ids) + sum(len(self.tokenizer(p, add_special_tokens=False)["input_ids"]) + 1 for p in pieces)
        if needed > self.limit:
            raise UsageError(f"judge-local:{self.model_name}: a {q.rubric} question takes {needed} tokens, more than "
                             f"the model's {self.limit}; use a model with a longer context or shorter texts")
        values, cache, feed = {}, None, ids
        with torch.inference_mode():
            for f, piece in zip(q.fields, pieces, strict=True):
                feed = feed + self.tokenizer(piece, add_special_tokens=False)["input_ids"]
                out = self.lm(input_ids=torch.tensor([feed], device=self.device), use_cache=True, **{self._cache_arg: cache})
                cache = getattr(out, self._cache_arg)
                scale = list(range(f.low, f.high + 1))
                logits = out.logits[0, -1, [self._digit(v) for v in scale]].float()
                probs = torch.softmax(logits, dim=-1)
                values[f.name] = float(sum(p * v for p, v in zip(probs.tolist(), scale, strict=True)))
                feed = [self._digit(scale[int(probs.argmax())])]  # the most likely digit, then the next field
        return values

    def ask(self, questions: list[Question]) -> list[dict[str, float]]:
        if len(self._answers) > 50_000:  # a bounded memo: forget everything rather than grow without end
            self._answers.clear()
        for q in dict.fromkeys(questions):
            if q not in self._answers:
                self._answers[q] = self._read(q)
        return [self._answers[q] for q in questions]


JUDGES = {RemoteJudge.kind: RemoteJudge, LocalJudge.kind: LocalJudge}


def make_judge(kind: str, model: str, **settings):
    """The judge of a backend kind (`judge`, `judge-local`) for a model, with its settings."""
    if kind not in JUDGES:
        raise UsageError(f"{kind}:{model} is not a judge; use judge:<served model> or judge-local:<model id or path>")
    known = [p for p in inspect.signature(JUDGES[kind]).parameters if p != "model"]
    unknown = sorted(set(settings) - set(known))
    if unknown:  # from a recipe's options
        raise UsageError(f"{kind}:{model}: unknown setting(s) {', '.join(unknown)}; the settings are {', '.join(known)}")
    return JUDGES[kind](model, **settings)
