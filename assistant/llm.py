"""The LLM provider adapter: the only module that imports langchain_openai / langchain_ollama.

`build_chat_model` turns Settings into a LangChain chat model; `describe_failure` turns any
exception a provider raises into a short reason a user can read ("timeout", "endpoint
unreachable", ...). Neither ever logs or returns the API key.
"""

from __future__ import annotations

import logging
import math

from langchain_core.language_models import BaseChatModel

from assistant.config import Settings

log = logging.getLogger(__name__)

#: Placeholder key for OpenAI-compatible servers that need none (the client insists on one).
NO_API_KEY = "not-needed"

# tiktoken's cl100k BPE file is not shipped in the wheel; tiktoken downloads it on first use
# (checked: get_encoding("cl100k_base") fails offline here), and an Ollama model's own
# tokenizer is not reachable from the client either. So prompts are budgeted with a character
# estimate. English prose averages ~4 characters per token for cl100k and ~3.5-4 for Llama
# tokenizers; numbers, names and punctuation are denser. 3 characters per token over-counts,
# so a prompt budgeted this way fits the real window.
CHARS_PER_TOKEN = 3.0


def estimate_tokens(text: str) -> int:
    """A conservative (over-)estimate of the tokens `text` costs an LLM."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def build_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model named by settings.llm_provider, with timeout, output cap and no retries.

    Retries are off: the extractive answer is the fallback, and a retry would double the
    time a user waits past llm_timeout.
    """
    if settings.llm_provider == "ollama":
        from langchain_ollama import ChatOllama

        log.info("LLM: ollama model %s at %s", settings.llm_model, settings.llm_base_url or "default host")
        return ChatOllama(
            model=settings.llm_model,
            base_url=settings.llm_base_url,
            num_predict=settings.llm_max_tokens,
            # Ollama silently drops the start of a prompt longer than its default window, which
            # would cut the instructions; ask for the window the prompt was budgeted against.
            num_ctx=settings.llm_context_tokens,
            temperature=0.0,
            client_kwargs={"timeout": settings.llm_timeout},
        )

    from langchain_openai import ChatOpenAI

    api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else NO_API_KEY
    log.info("LLM: openai-compatible model %s at %s", settings.llm_model, settings.llm_base_url or "default")
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=api_key,  # type: ignore[arg-type]  # str is accepted and wrapped in SecretStr
        timeout=settings.llm_timeout,
        max_retries=0,
        max_tokens=settings.llm_max_tokens,  # type: ignore[call-arg]  # pydantic field alias
        temperature=0.0,
    )


def describe_failure(exc: BaseException) -> str:
    """A short, key-free reason for an LLM failure, for the note the user sees."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    text = str(exc).lower()
    if isinstance(exc, TimeoutError) or names & {"APITimeoutError", "TimeoutException", "ReadTimeout"}:
        return "timeout"
    if "context" in text and ("length" in text or "window" in text or "too long" in text):
        return "context window exceeded"
    if names & {"AuthenticationError", "PermissionDeniedError"}:
        return "authentication failed"
    if names & {"NotFoundError"} or ("model" in text and "not found" in text):
        return "model not found"
    if isinstance(exc, ConnectionError) or names & {"APIConnectionError", "ConnectError", "ConnectTimeout"}:
        return "endpoint unreachable"
    if names & {"RateLimitError"}:
        return "rate limited"
    return "error"
