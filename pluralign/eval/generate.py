"""Batched generation with transformers for `pluralign eval --model`.

The model is a local path or a Hub id (HF_HUB_OFFLINE is honoured by huggingface_hub, so an
offline machine loads from its cache or a folder). Prompts go through the tokenizer's chat
template when it has one, and are left-padded so that every row's new tokens start at the same
position. Greedy decoding unless sampling is asked for (or several samples per prompt); sampling
is seeded.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm


@dataclass
class GenerationSettings:
    max_new_tokens: int = 128
    batch_size: int = 8
    samples: int = 1  # outputs per prompt
    do_sample: bool = False
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int = 0

    def __post_init__(self):
        if self.samples < 1:
            raise ValueError(f"--samples must be at least 1, got {self.samples}")
        if self.samples > 1:
            self.do_sample = True  # greedy decoding would give K identical outputs

    def describe(self) -> dict:
        out = {"max_new_tokens": self.max_new_tokens, "batch_size": self.batch_size, "samples": self.samples,
               "do_sample": self.do_sample, "seed": self.seed}
        if self.do_sample:
            out.update(temperature=self.temperature, top_p=self.top_p)
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
            raise FileNotFoundError(f"--model {self.model_name}: no such folder; give a model folder or a Hub id")
        self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_name)
        self.tokenizer.padding_side = "left"
        self.tokenizer.truncation_side = "left"  # keep the instruction, which prompts end with
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(self.model_name, dtype=dtype).to(self.device)
        self.model.eval()

    def _render(self, prompt: str) -> str:
        if self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
        return prompt

    def _max_prompt_tokens(self) -> int:
        limit = getattr(self.model.config, "max_position_embeddings", None) or self.tokenizer.model_max_length
        return max(8, min(limit, self.tokenizer.model_max_length) - self.settings.max_new_tokens)

    def generate(self, prompts: list[str], desc: str = "generating", samples: int | None = None) -> list[list[str]]:
        """`samples` outputs for each prompt (default: the settings'), in order."""
        import torch
        from transformers import set_seed

        set_seed(self.settings.seed)
        s = self.settings
        k = samples or s.samples
        templated = bool(self.tokenizer.chat_template)
        outputs: list[list[str]] = []
        truncated = 0
        for start in tqdm(range(0, len(prompts), s.batch_size), desc=desc, unit="batch"):
            texts = [self._render(p) for p in prompts[start:start + s.batch_size]]
            full = self.tokenizer(texts, add_special_tokens=not templated)["input_ids"]
            limit = self._max_prompt_tokens()
            truncated += sum(len(ids) > limit for ids in full)
            batch = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True,
                                   max_length=limit, add_special_tokens=not templated).to(self.device)
            kwargs = dict(max_new_tokens=s.max_new_tokens, do_sample=s.do_sample, num_return_sequences=k,
                          pad_token_id=self.tokenizer.pad_token_id)
            if s.do_sample:
                kwargs.update(temperature=s.temperature, top_p=s.top_p)
            with torch.no_grad():
                generated = self.model.generate(**batch, **kwargs)
            new_tokens = generated[:, batch["input_ids"].shape[1]:]
            decoded = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            outputs += [[d.strip() for d in decoded[i:i + k]] for i in range(0, len(decoded), k)]
        self.truncated_prompts += truncated
        if truncated:
            warnings.warn(f"{desc}: {truncated} prompt(s) longer than {self._max_prompt_tokens()} tokens "
                          "were cut from the left; the report counts them", stacklevel=2)
        return outputs

    def describe(self) -> dict:
        return {"model": self.model_name, "device": self.device, "chat_template": bool(self.tokenizer.chat_template),
                "truncated_prompts": self.truncated_prompts, **self.settings.describe()}
