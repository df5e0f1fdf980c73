"""The corrections made to the OpenAPI BentoML serves (``serving.openapi_fixes``), on a spec shaped as BentoML's."""

from __future__ import annotations

from pydantic import BaseModel

from serving.openapi_fixes import ERROR_DETAIL, corrected_spec


class Answer(BaseModel):
    device_id: str
    model_id: str | None


def bentoml_like_spec() -> dict:
    answer = {
        "type": "object",
        "title": "AnswerIODescriptor",
        "properties": {"device_id": {"type": "string"}, "model_id": {"type": "string", "title": "Model Id"}},
    }
    request = {"type": "object", "properties": {"amount": {"anyOf": [{"type": "number", "exclusiveMinimum": 0.0}]}}}
    return {
        "openapi": "3.0.2",
        "paths": {
            "/score": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": request}}},
                    "responses": {"200": {"content": {"application/json": {"schema": answer}}}},
                }
            }
        },
        "components": {
            "schemas": {
                "InvalidArgument": {
                    "properties": {"error": {"type": "string"}, "detail": {"title": "Error Detail", "type": "string"}}
                }
            }
        },
    }


def test_the_spec_documents_what_the_service_answers() -> None:
    spec = corrected_spec(bentoml_like_spec(), nullable_in=(Answer,), responses={("/score", 413): "too many"})
    post = spec["paths"]["/score"]["post"]
    assert spec["components"]["schemas"]["InvalidArgument"]["properties"]["detail"] == ERROR_DETAIL
    amount = post["requestBody"]["content"]["application/json"]["schema"]["properties"]["amount"]["anyOf"][0]
    assert (amount["minimum"], amount["exclusiveMinimum"]) == (0.0, True)
    answer = post["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert answer["model_id"]["nullable"] is True and "nullable" not in answer["device_id"]
    assert post["responses"]["413"]["description"] == "too many"


def test_a_3_1_spec_keeps_its_numeric_bounds() -> None:
    spec = bentoml_like_spec() | {"openapi": "3.1.0"}
    amount = corrected_spec(spec)["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]
    assert amount["schema"]["properties"]["amount"]["anyOf"][0] == {"type": "number", "exclusiveMinimum": 0.0}
