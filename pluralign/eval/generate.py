"""The model that `pluralign eval --model` generates with, and its settings.

The model is a local path or a Hub id (HF_HUB_OFFLINE is honoured by huggingface_hub, so an
offline machine loads from its cache or a folder). Prompts go through the tokenizer's chat
template when it has one; the batched loop is `pluralign.generation.generate_texts`. Greedy
decoding unless sampling is asked for (or several samples per prompt); sampling is seeded.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pluralign.errors import UsageError


@dataclass
class GenerationSettings:
    max_new_tokens: int = 128
    batch_size: int = 8
    samples: int = 1  # outputs per prompt
    do_sample: bool = False
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int = 0
    chat_template_kwargs: dict = field(default_factory=dict)  # e.g. {"enable_thinking": false}

    def __post_init__(self):
        for name in ("samples", "batch_size", "max_new_tokens"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.top_p <= 1 or not self.temperature > 0:
            raise UsageError(f"--top-p must be in (0, 1] and --temperature above 0, got {self.top_p} and {self.temperature}")
        if self.samples > 1:
            self.do_sample = True  # greedy decoding would give K identical outputs

    def describe(self) -> dict:
        out = {"max_new_tokens": self.max_new_tokens, "batch_size": self.batch_size, "samples": self.samples,
               "do_sample": self.do_sample, "seed": self.seed}
        if self.do_sample:
            out.update(temperature=self.temperature, top_p=self.top_p)
        if self.chat_template_kwargs:
            out["chat_template_kwargs"] = dict(self.chat_template_kwargs)
        return out


@dataclass
class Generator:
    model_name: str
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    device: str | None = None
    truncated_prompts: int = 0

    def __post_init__(self):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if self.model_name.startswith(("/", ".", "~")) and not Path(self.model_name).expanduser().is_dir():
            # Otherwise the Hub client answers with a puzzling "Repo id must be in the form ..."
            raise UsageError(f"--model {self.model_name}: no such folder; give a model folder or a Hub id")
        self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_name)
            self.model = AutoModelForCausalLM.from_pretrained(self.model_name, dtype=dtype).to(self.device)
        except OSError as err:  # not on the Hub, not in the cache offline, no weights in the folder
            raise UsageError(f"--model {self.model_name}: cannot load it ({err})") from None
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.eval()

    def _max_prompt_tokens(self) -> int:
        limit = getattr(self.model.config, "max_position_embeddings", None) or self.tokenizer.model_max_length
        return max(8, min(limit, self.tokenizer.model_max_length) - self.settings.max_new_tokens)

    def generate(self, prompts: list[str], desc: str = "generating", samples: int | None = None,
                 on_result: Callable[[int, list[str]], None] | None = None) -> list[list[str]]:
        """`samples` outputs for each prompt (default: the settings'), in order; `on_result(i, texts)`
        is called after each batch for each of its prompts, so a caller can keep what is done."""
        from tqdm.auto import tqdm
        from transformers import set_seed

        from pluralign.generation import count_truncated, generate_texts

        set_seed(self.settings.seed)
        s = self.settings
        k = samples or s.samples
        templated = bool(self.tokenizer.chat_template)
        # The template's text starts with its own special tokens; a plain prompt gets the tokenizer's.
        chats = [[{"role": "user", "content": p}] for p in prompts] if templated else prompts
        limit = self._max_prompt_tokens()
        truncated = count_truncated(self.tokenizer, chats, limit, add_special_tokens=not templated,
                                    chat_template_kwargs=s.chat_template_kwargs)
        # Unlike training, the model's generation config keeps its say (top_k) beside --temperature and --top-p.
        sampling = {"do_sample": True, "temperature": s.temperature, "top_p": s.top_p} if s.do_sample else {"do_sample": False}
        out: list[list[str]] = []
        # One batch per call: the same batches (and, seeded once, the same samples) as one call for
        # all prompts, with each batch's outputs handed over as soon as it is done.
        for start in tqdm(range(0, len(chats), s.batch_size), desc=desc, unit="batch", disable=None):
            texts = generate_texts(self.model, self.tokenizer, chats[start:start + s.batch_size], s.max_new_tokens,
                                   batch_size=s.batch_size, num_return_sequences=k, max_prompt_length=limit,
                                   sampling=sampling, add_special_tokens=not templated,
                                   chat_template_kwargs=s.chat_template_kwargs)
            for j in range(0, len(texts), k):
                out.append(texts[j:j + k])
                if on_result is not None:
                    on_result(len(out) - 1, out[-1])
        self.truncated_prompts += truncated
        if truncated:
            warnings.warn(f"{desc}: {truncated} prompt(s) longer than {limit} tokens "
                          "were cut from the left; the report counts them", stacklevel=2)
        return out

    def describe(self) -> dict:
        return {"model": self.model_name, "device": self.device, "chat_template": bool(self.tokenizer.chat_template),
                "truncated_prompts": self.truncated_prompts, **self.settings.describe()}
