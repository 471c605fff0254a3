"""Settings: the only reader of the environment.

Every field has a default and a description; `CITELINE_<FIELD>` sets it (e.g.
CITELINE_DATA_DIR). Create one `Settings` at the edge (CLI, server start) and pass it,
or the plain values it holds, to factories.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The embedder's hard input window (all-MiniLM-L6-v2 truncates silently beyond it).
EMBEDDER_MAX_TOKENS = 256


class Settings(BaseSettings):
    """citeline's settings, read from CITELINE_* environment variables (and a .env file)."""

    model_config = SettingsConfigDict(env_prefix="CITELINE_", env_file=".env", extra="ignore")

    # --- storage ---------------------------------------------------------------------------
    data_dir: Path = Field(Path(".citeline"), description="Where the Chroma store, feedback and eval reports live.")
    corpus_dir: Path = Field(Path("corpus"), description="Folder ingested when `citeline ingest` gets no PATH.")
    chroma_mode: Literal["embedded", "server"] = Field(
        "embedded", description="embedded: PersistentClient in data_dir; server: HttpClient to chroma_host."
    )
    chroma_host: str = Field("127.0.0.1", description="Chroma server host (chroma_mode=server).")
    chroma_port: int = Field(8000, description="Chroma server port (chroma_mode=server).")
    collection: str = Field("citeline", description="Name prefix of the Chroma collections.")

    # --- ingest ----------------------------------------------------------------------------
    ingest_exclude: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Glob patterns (comma-separated) of paths to leave out of ingest, e.g. _sources/*.",
    )
    max_file_bytes: int = Field(20_000_000, gt=0, description="Files larger than this are skipped at ingest.")
    chunk_max_tokens: int = Field(
        200, gt=16, le=EMBEDDER_MAX_TOKENS, description="Largest chunk, in embedder tokens (window is 256)."
    )
    chunk_overlap_sentences: int = Field(1, ge=0, le=3, description="Sentences repeated between chunks.")
    embed_batch_size: int = Field(64, gt=0, description="Chunks embedded and written per batch at ingest.")

    # --- retrieval and answering -----------------------------------------------------------
    retrieval_k: int = Field(8, gt=0, description="Chunks handed to the answerer after fusion.")
    candidate_k: int = Field(30, gt=0, description="Chunks each retriever (dense, BM25) proposes.")
    rrf_k: int = Field(60, gt=0, description="Reciprocal rank fusion constant.")
    max_answer_sentences: int = Field(4, gt=0, description="Most sentences in an extractive answer.")
    max_question_chars: int = Field(1000, gt=0, description="Longer questions are rejected.")
    max_history: int = Field(6, ge=0, description="Earlier questions used for follow-up retrieval.")
    answerer: Literal["extractive", "llm"] = Field(
        "extractive", description="extractive (offline, default) or llm (Ollama / OpenAI-compatible)."
    )

    # --- optional LLM answerer -------------------------------------------------------------
    llm_provider: Literal["ollama", "openai-compatible"] = Field("ollama", description="Which LLM API to call.")
    llm_model: str = Field("llama3.1:8b", description="Model name at the LLM endpoint.")
    llm_base_url: str | None = Field(
        None, description="LLM endpoint, e.g. http://127.0.0.1:11434 (Ollama) or http://host/v1."
    )
    llm_api_key: SecretStr | None = Field(None, description="API key for the LLM endpoint (never logged).")
    llm_timeout: float = Field(30.0, gt=0, description="Seconds before an LLM call gives up (then extractive).")
    llm_max_tokens: int = Field(512, gt=0, description="Most tokens the LLM may generate per answer.")
    llm_context_tokens: int = Field(4096, gt=256, description="The LLM's context window, in tokens.")

    # --- server ----------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address `citeline serve` binds to.")
    port: int = Field(7860, gt=0, lt=65536, description="Port `citeline serve` listens on.")
    max_concurrent_answers: int = Field(
        4,
        gt=0,
        description="Answers computed at once; more requests wait their turn (raise it for the LLM answerer).",
    )
    site_base_url: str | None = Field(
        None, description="Base URL of the ingested site; a citation's url is this joined with its source."
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed to embed the widget and call the API (comma-separated).",
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @field_validator("ingest_exclude", mode="before")
    @classmethod
    def _split_patterns(cls, value: object) -> object:
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value

    @property
    def store_dir(self) -> Path:
        """Where the embedded Chroma store lives."""
        return self.data_dir / "chroma"

    @property
    def feedback_path(self) -> Path:
        """JSON-lines file of thumbs-down feedback (candidate eval cases)."""
        return self.data_dir / "feedback.jsonl"

    @property
    def reports_dir(self) -> Path:
        """Where `citeline eval` writes its reports."""
        return self.data_dir / "reports"
