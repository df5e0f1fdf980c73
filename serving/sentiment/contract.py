"""The sentiment service's wire contract: score texts, or moderate pieces of content with their authors' recent
behaviour, and the two calls that do it (bounded by a timeout).

This module imports nothing of this project (only pydantic, httpx and the standard library): the chat and social
apps import it, and only it, to call the service without loading BentoML, the encoder or the model.

Every way a call can fail (timeout, refused connection, 4xx/5xx, an answer that does not parse) raises
``SentimentServiceError``, so a caller has one thing to catch: it keeps the content, marks it unscored, and a job
moderates the unscored later.
"""

from __future__ import annotations

from typing import Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SCORE_ROUTE = "/score"
MODERATE_ROUTE = "/moderate"
MAX_BATCH = 1000
MAX_TEXT_CHARS = 5000

# Where the author's recent behaviour came from: Redis, PostgreSQL when Redis had nothing or only stale values, or
# nowhere (a first-time author).
FeaturesSource = Literal["online", "fallback:missing", "fallback:stale", "none"]


class ScoreRequest(BaseModel):
    """One text (``text``) or a batch (``texts``, up to 1,000): exactly one of the two."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_CHARS)
    texts: list[str] | None = Field(default=None, min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _one_of(self) -> ScoreRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("send exactly one of 'text' (one text) or 'texts' (a batch of up to 1000)")
        for index, text in enumerate(self.texts or ()):
            if not text or len(text) > MAX_TEXT_CHARS:
                raise ValueError(f"texts[{index}] must have 1 to {MAX_TEXT_CHARS} characters")
        return self

    @property
    def batch(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or ())


class TextScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: int = Field(ge=0, le=1, description="1 positive, 0 negative")
    score: float = Field(ge=0, le=1, description="probability that the text is positive")


class ScoreResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    scores: list[TextScore]
    model_name: str
    model_version: str


class ModerationItem(BaseModel):
    """A piece of content to moderate: which domain and kind it is, its id, its author and its text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: str = Field(min_length=1, max_length=32)
    content_kind: str = Field(min_length=1, max_length=32, description="message, post, comment, ...")
    content_id: str = Field(min_length=1, max_length=128)
    author_id: str = Field(min_length=1, max_length=128)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


class ModerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    items: list[ModerationItem] = Field(min_length=1, max_length=MAX_BATCH)


class ModerationDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    domain: str
    content_kind: str
    content_id: str
    author_id: str
    label: int = Field(ge=0, le=1)
    score: float = Field(ge=0, le=1, description="probability that the text is positive")
    flagged: bool
    reason: str = Field(description="why it was (not) flagged, for the moderators")
    model_name: str
    model_version: str
    features_source: FeaturesSource
    features: dict[str, float] = Field(description="the author's recent behaviour the decision used")


class ModerateResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    decisions: list[ModerationDecision]


Answer = TypeVar("Answer", bound=BaseModel)


class SentimentServiceError(RuntimeError):
    """The service gave no usable answer; ``status_code`` is set when it answered with an HTTP error."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def score_texts(
    texts: list[str], *, url: str, api_key: str, timeout_s: float, client: httpx.Client | None = None
) -> ScoreResponse:
    """Score ``texts`` (one request, up to 1,000) with the service at ``url`` (its base address)."""
    body = ScoreRequest(texts=texts).model_dump(mode="json", exclude_none=True)
    return _post(SCORE_ROUTE, body, ScoreResponse, url=url, api_key=api_key, timeout_s=timeout_s, client=client)


def moderate(
    items: list[ModerationItem], *, url: str, api_key: str, timeout_s: float, client: httpx.Client | None = None
) -> ModerateResponse:
    """Moderate ``items`` (up to 1,000) with the service at ``url``; one decision per item, in order."""
    body = ModerateRequest(items=items).model_dump(mode="json")
    return _post(MODERATE_ROUTE, body, ModerateResponse, url=url, api_key=api_key, timeout_s=timeout_s, client=client)


def _post(
    route: str,
    body: dict,
    answer: type[Answer],
    *,
    url: str,
    api_key: str,
    timeout_s: float,
    client: httpx.Client | None,
) -> Answer:
    if client is None:
        with httpx.Client() as own:
            return _post(route, body, answer, url=url, api_key=api_key, timeout_s=timeout_s, client=own)
    endpoint = f"{url.rstrip('/')}{route}"
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        response = client.post(endpoint, json=body, headers=headers, timeout=timeout_s)
    except httpx.TimeoutException as error:
        raise SentimentServiceError(f"sentiment service did not answer within {timeout_s}s: {endpoint}") from error
    except httpx.TransportError as error:
        raise SentimentServiceError(f"sentiment service unreachable at {endpoint}: {error}") from error
    if response.is_error:
        raise SentimentServiceError(
            f"sentiment service answered {response.status_code}: {response.text[:500]}", response.status_code
        )
    try:
        return answer.model_validate_json(response.content)
    except ValidationError as error:
        raise SentimentServiceError(f"sentiment service answered something unexpected: {error}") from error
