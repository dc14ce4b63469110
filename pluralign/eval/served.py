"""`pluralign eval --model NAME --base-url URL`: generation through a served model.

The model is whatever an OpenAI-compatible server (`vllm serve NAME`) serves at URL; the server
applies its chat template to the user message. Requests go out `concurrency` at a time (see
`pluralign.endpoint`), one per prompt with `n` = the samples per prompt; greedy decoding is
temperature 0, sampling sends temperature, top_p and a per-prompt seed (settings.seed plus a
hash of the prompt, so that a resumed run asks each prompt what a whole run would), which vLLM
honours. A prompt longer than the server's context is refused by the server, and that refusal
is the error.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from pluralign.endpoint import ChatEndpoint
from pluralign.errors import UsageError
from pluralign.eval.generate import GenerationSettings


@dataclass
class ServedGenerator:
    model_name: str
    base_url: str
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    concurrency: int = 16
    timeout: float = 600.0

    def __post_init__(self):
        self.endpoint = ChatEndpoint(self.base_url, self.model_name, concurrency=self.concurrency, timeout=self.timeout)

    def body(self, prompt: str, samples: int) -> dict:
        s = self.settings
        body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": s.max_new_tokens, "n": samples}
        if s.do_sample:
            body.update(temperature=s.temperature, top_p=s.top_p, seed=(s.seed + zlib.crc32(prompt.encode())) % 2**31)
        else:
            body["temperature"] = 0.0
        return body

    def generate(self, prompts: list[str], desc: str = "generating", samples: int | None = None,
                 on_result: Callable[[int, list[str]], None] | None = None) -> list[list[str]]:
        """`samples` outputs per prompt, in order; `on_result(i, texts)` as each prompt's answer arrives."""
        k = samples or self.settings.samples
        with tqdm(total=len(prompts), desc=desc, unit="prompt", disable=None) as bar:
            def arrived(i: int, texts: list[str]) -> None:
                if len(texts) != k:
                    raise UsageError(f"{self.endpoint.url} gave {len(texts)} choice(s) for n={k}; "
                                     "serve the model with a server that honours `n` (vLLM does)")
                bar.update(1)
                if on_result is not None:
                    on_result(i, [t.strip() for t in texts])

            results = self.endpoint.complete_many([self.body(p, k) for p in prompts], on_result=arrived)
        return [[t.strip() for t in texts] for texts in results]

    def describe(self) -> dict:
        return {"model": self.model_name, "base_url": self.endpoint.base_url, "served": True,
                "concurrency": self.concurrency, **self.settings.describe()}
