"""Optional generative answers from an OpenAI-compatible chat endpoint (Ollama, vLLM,
llama.cpp's server), off unless KOSHQON_LLM_URL is set.

The model is shown only the numbered evidence passages that the extractive answer was
built from, and told to cite them as [n]. Its answer is kept only if it cites at least one
passage and every marker names a passage it was given; otherwise, or when the endpoint
fails, the extractive answer stands. When the evidence is too weak for an extractive
answer ("not_found"), the model is not asked at all.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.request
from dataclasses import replace

from index.answer import Answer, Supported

from .config import Settings

INSTRUCTIONS = (
    "You answer questions about migration and the law of Kazakhstan using only the numbered "
    "passages given. Answer in the language of the question, in a few sentences. After each "
    "sentence put the number of the passage it comes from in square brackets, like [2]. If "
    "the passages do not answer the question, say so. Do not use anything else you know."
)
MARKER = re.compile(r"\[(\d+)\]")


class _Refuse(urllib.request.HTTPRedirectHandler):
    """A redirect would carry the API key to wherever it points: it counts as a failure."""

    def redirect_request(self, *args, **kwargs):
        return None


NO_REDIRECTS = urllib.request.build_opener(_Refuse)


def _prompt(answer: Answer) -> str:
    passages = "\n\n".join(
        f"[{n}] {hit.citation.label}\n{hit.text}" for n, hit in enumerate(answer.evidence, 1)
    )
    return f"Passages:\n\n{passages}\n\nQuestion: {answer.question}"


def _complete(settings: Settings, prompt: str) -> str | None:
    body = {
        "model": settings.llm_model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": prompt},
        ],
    }
    request = urllib.request.Request(
        settings.llm_url.rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}),
        },
    )
    try:
        with NO_REDIRECTS.open(request, timeout=settings.llm_timeout_s) as response:
            content = json.load(response)["choices"][0]["message"]["content"]
    except (OSError, http.client.HTTPException, ValueError, LookupError, TypeError):
        return None  # unreachable, refused, redirected, or not an OpenAI-style reply
    return content.strip() if isinstance(content, str) else None


def cited_passages(text: str, evidence_count: int) -> list[int] | None:
    """The passage numbers an answer cites, or None if it cites none or an unknown one."""
    markers = [int(m) for m in MARKER.findall(text)]
    if not markers or any(not 1 <= m <= evidence_count for m in markers):
        return None
    return list(dict.fromkeys(markers))


def generated(settings: Settings, extractive: Answer) -> Answer:
    """The model's answer when it is configured and cites only its evidence; else
    ``extractive`` unchanged."""
    if not settings.llm_url or extractive.status != "answered":
        return extractive
    text = _complete(settings, _prompt(extractive))
    markers = cited_passages(text or "", len(extractive.evidence))
    if markers is None:
        return extractive
    citations = [
        Supported(
            n,
            hit,
            hit.text,
            hit.citation.char_start,
            hit.citation.char_end,
            hit.score,
        )
        for n in markers
        for hit in [extractive.evidence[n - 1]]
    ]
    return replace(extractive, answer=text, citations=citations, answerer="generative")
