"""The numpy MiniLM encoder: the numbers sentence-transformers gives for all-MiniLM-L6-v2, and the invariants a
sentence encoder must keep (unit vectors, paraphrases close, unrelated texts apart, batching changes nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from models.sentiment.encoder import DIMENSION, ENCODER_PACKAGE, MAX_TOKENS, MiniLMEncoder

# The first six dimensions sentence-transformers 5 (torch, CPU, max_seq_length 128, normalize_embeddings) gave for
# these texts with the same weights, computed once in a scratch environment outside the project.
REFERENCE = {
    "A man is eating food.": [0.033242, 0.004406, -0.006277, 0.048379, -0.138702, -0.033617],
    "The new movie is awesome": [-0.100443, -0.077393, -0.001374, -0.048461, 0.004557, -0.052317],
    "I love this phone, battery lasts forever!": [-0.104754, 0.066016, 0.023158, -0.007326, -0.031263, -0.055191],
    " ".join(["this is a very long review that goes on"] * 40): [
        -0.022606,
        0.028529,
        0.022762,
        0.000151,
        0.012927,
        0.059877,
    ],
}


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder()


def test_embeddings_match_sentence_transformers(encoder):
    vectors = encoder.encode(list(REFERENCE))
    np.testing.assert_allclose(vectors[:, :6], np.array(list(REFERENCE.values())), atol=1e-5)


def test_vectors_have_unit_length_and_the_model_dimension(encoder):
    vectors = encoder.encode(["Great food.", "Awful service, never again!", "ok"])
    assert vectors.shape == (3, DIMENSION) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrases_are_close_and_unrelated_texts_apart(encoder):
    movie, movie_again, food, physics = encoder.encode(
        [
            "The new movie is awesome",
            "The new movie is so great",
            "A man is eating food.",
            "Quantum chromodynamics describes the strong force.",
        ]
    )
    assert movie @ movie_again > 0.8
    assert movie @ food < 0.3 and movie @ physics < 0.3 and food @ physics < 0.3


def test_batching_and_order_change_nothing(encoder):
    texts = ["short", "a somewhat longer sentence about a restaurant", "mid length text here", "x " * 60]
    together = encoder.encode(texts, batch_size=64)
    one_by_one = np.vstack([encoder.encode([text]) for text in texts])
    reversed_ = encoder.encode(texts[::-1], batch_size=2)[::-1]
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(together, reversed_, atol=1e-5)
    np.testing.assert_array_equal(encoder.encode(texts), together)  # deterministic


def test_long_texts_are_truncated_to_the_token_limit(encoder):
    words = [f"word{index}" for index in range(400)]
    # Whatever follows the first MAX_TOKENS tokens cannot change the vector.
    a, b = encoder.encode([" ".join(words), " ".join(words[:300]) + " completely different ending"])
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert encoder.max_tokens == MAX_TOKENS


def test_no_texts_give_no_vectors(encoder):
    assert encoder.encode([]).shape == (0, DIMENSION)


def test_the_version_names_package_pooling_and_truncation(encoder):
    assert encoder.version.startswith(f"{ENCODER_PACKAGE}==")
    assert "pooling=mean+l2" in encoder.version and f"max_tokens={MAX_TOKENS}" in encoder.version
