"""Embeddings kept on disk, so re-training, tests and the main job do not re-encode ~28k texts (~3 minutes cold).

Keyed by the encoder's version (package, version, pooling, truncation) and each text's SHA-256: a folder per
encoder version holds shards (``.npz``: text hashes and their vectors). Only texts missing from every shard are
encoded, written as new shards of up to ``SHARD_SIZE`` texts, each named for its content and renamed into place
when complete: re-running never duplicates, and two processes writing at once cannot corrupt each other.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from models.sentiment.encoder import DIMENSION, MiniLMEncoder

SHARD_SIZE = 2048


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_folder(cache_dir: Path, encoder_version: str) -> Path:
    """The folder of one encoder version's shards (named by the version's hash: it holds '=' and ';')."""
    return cache_dir / "embeddings" / hashlib.sha256(encoder_version.encode()).hexdigest()[:16]


class EmbeddingCache:
    """``embed(texts)``: vectors from the shards, encoding (and storing) only the texts none of them holds."""

    def __init__(self, cache_dir: Path, encoder: MiniLMEncoder) -> None:
        self.encoder = encoder
        self.folder = cache_folder(cache_dir, encoder.version)

    def embed(self, texts: Sequence[str], progress: Callable[[str], None] = lambda _: None) -> np.ndarray:
        keys = [text_key(text) for text in texts]
        known = self._read(set(keys))
        missing = sorted({key: text for key, text in zip(keys, texts, strict=True) if key not in known}.items())
        if missing:
            progress(f"encoding {len(missing)} text(s) not in the embedding cache ({len(known)} cached)")
        for start in range(0, len(missing), SHARD_SIZE):
            # A shard per chunk: an interrupted run keeps what it encoded, and says how far it got.
            chunk = missing[start : start + SHARD_SIZE]
            vectors = self.encoder.encode([text for _, text in chunk])
            self._write([key for key, _ in chunk], vectors)
            known.update(zip((key for key, _ in chunk), vectors, strict=True))
            progress(f"encoded {start + len(chunk)} of {len(missing)}")
        if not keys:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        return np.stack([known[key] for key in keys]).astype(np.float32)

    def _read(self, wanted: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for shard in sorted(self.folder.glob("*.npz")) if self.folder.is_dir() else []:
            with np.load(shard) as stored:
                keys = stored["keys"]
                hits = np.flatnonzero(np.isin(keys, list(wanted - found.keys())))
                if hits.size:
                    vectors = stored["vectors"]
                    found.update((str(keys[i]), vectors[i]) for i in hits)
            if len(found) == len(wanted):
                break
        return found

    def _write(self, keys: list[str], vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:24]
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            np.savez(file, keys=np.array(keys), vectors=vectors.astype(np.float32))
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the cache is shared by every clone on the machine
        os.replace(temporary, self.folder / f"{name}.npz")
