"""Settings: CLI options first, then KOSHQON_* environment variables, then a koshqon.toml
file, then the defaults.

The file is the nearest koshqon.toml in the current folder or above it, else
$XDG_CONFIG_HOME/koshqon/koshqon.toml (~/.config/koshqon/koshqon.toml): so that every
command, run from anywhere, finds the same collection. It holds the settings by their
names without the prefix (``data_dir = "/srv/koshqon"``); relative folders are relative
to the file.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ingest.models import Budget, Limits

SERVER_FILE = "server.json"  # in the data folder, while `koshqon serve` runs on it
CONFIG_FILE = "koshqon.toml"
FOLDERS = ("data_dir", "shared_dir", "models_dir")  # read relative to the file that names them


def config_file(start: Path | None = None) -> Path | None:
    """The koshqon.toml that applies here: in ``start`` (the current folder) or the
    nearest folder above it, else the user's own."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder / CONFIG_FILE
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    found = home / "koshqon" / CONFIG_FILE
    return found if found.is_file() else None


class ConfigFile(TomlConfigSettingsSource):
    """koshqon.toml, its folders taken relative to where it lies."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path):
        super().__init__(settings_cls, path)
        self.path = path

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        for name in FOLDERS:
            if isinstance(values.get(name), str):
                folder = self.path.parent / Path(values[name]).expanduser()
                values[name] = Path(os.path.normpath(folder))
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOSHQON_")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        found = config_file()
        return (init_settings, env_settings, *([ConfigFile(settings_cls, found)] if found else []))

    data_dir: Path = Field(
        Path("data"),
        description="Catalog, indexes, originals and model cache (relative: to the folder the "
        "command runs in, or to the koshqon.toml that sets it).",
    )
    database_url: str | None = Field(
        None,
        description=(
            "postgresql://user:password@host/db puts the catalog (documents, passages, vectors, "
            "jobs, keys) in PostgreSQL, shared by every replica and worker; unset, it is "
            "DATA_DIR/catalog.sqlite. The indexes stay in each machine's DATA_DIR."
        ),
    )
    shared_dir: Path | None = Field(
        None,
        description=(
            "Where originals and queued uploads are kept: a folder every replica and worker "
            "mounts (NFS, say), each checking at start that it is the same one. Unset, they "
            "are kept in DATA_DIR, or with a PostgreSQL catalog in PostgreSQL itself."
        ),
    )
    serve_jobs: bool = Field(
        True,
        description=(
            "Whether `koshqon serve` adds queued files itself. With a PostgreSQL catalog, "
            "set false on replicas that should only answer, and run `koshqon worker`s."
        ),
    )
    job_lease_s: float = Field(
        60,
        ge=1,
        description=(
            "How long a claim on a queued file lasts unless renewed (every third of it): a "
            "runner that dies leaves its file to another after this long."
        ),
    )
    model: str = Field(
        "multilingual-e5-small",  # index.model_build.DEFAULT_MODEL_ID
        description=(
            "Embedding model: the built-in multilingual-e5-small, or "
            "multilingual-e5-small-kk-ru-law (adapted to Kazakhstan's laws, docs/adaptation.md), "
            "or the path of any sentence-transformers model folder (e.g. a local copy of "
            "BAAI/bge-m3)."
        ),
    )
    models_dir: Path | None = Field(
        None, description=("Where the built-in model is rebuilt; defaults to DATA_DIR/models.")
    )
    device: str = Field("cpu", description="Torch device for the embedding model.")
    encoder: Literal["onnx-int8", "torch"] = Field(
        "torch",
        description=(
            "How the built-in model runs on CPU: torch in float32, or ONNX Runtime with int8 "
            "weights (queries 3x faster, up to 0.013 lower on some retrieval rows: docs/scale.md)."
        ),
    )
    query_prefix: str | None = Field(None, description="Overrides the model's query prompt.")
    passage_prefix: str | None = Field(None, description="Overrides the model's passage prompt.")
    chunk_tokens: int = Field(256, ge=32, le=480, description="Passage budget in model tokens.")
    chunk_overlap: int = Field(32, ge=0, le=128, description="Tokens repeated between passages.")
    max_upload_mb: float = Field(50, gt=0, description="Largest file accepted, in megabytes.")
    max_job_mb: float = Field(
        500, gt=0, description="Largest batch of files sent to /jobs at once, in megabytes."
    )
    job_report_days: float = Field(
        30, gt=0, description="How long the report of a finished job is kept (GET /jobs/{id})."
    )
    parse_memory_mb: int = Field(
        2048, ge=256, description="Memory the process reading one file may use (RLIMIT_AS)."
    )
    parse_seconds: float = Field(
        600, gt=0, description="Time one file may take to read, OCR included."
    )
    ingest_niceness: int = Field(
        10,
        ge=0,
        le=19,
        description="How far ingestion (reading, OCR, a job's encoding) yields to searches.",
    )
    max_pages: int = Field(3000, ge=1, description="Pages of a PDF, declared or found.")
    max_unpacked_mb: float = Field(200, gt=0, description="A DOCX's parts, decompressed.")
    max_html_depth: int = Field(400, ge=16, description="Nesting of an HTML page's elements.")
    log_queries: bool = Field(
        False, description="Write search and question text into the access log (private)."
    )
    private: bool = Field(
        False,
        description="Reading needs a reader's key too (writes always need a key once one exists).",
    )
    allowed_hosts: list[str] = Field(
        ["localhost", "127.0.0.1", "[::1]"],
        description=(
            "Host names the server answers to (JSON list); others get 400, which stops DNS "
            "rebinding. `koshqon serve --host` adds its own."
        ),
    )
    llm_url: str | None = Field(
        None,
        description=(
            "OpenAI-compatible endpoint for generative answers, e.g. "
            "http://localhost:11434/v1 (Ollama); unset, answers are extractive."
        ),
    )
    llm_model: str = Field("qwen2.5:7b-instruct", description="Model name at that endpoint.")
    llm_api_key: str | None = Field(None, description="Bearer token, if the endpoint needs one.")
    llm_timeout_s: float = Field(60, gt=0, description="How long to wait for the model.")

    @property
    def shared_root(self) -> Path:
        return self.shared_dir or self.data_dir

    @property
    def model_cache(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def budget(self) -> Budget:
        """What reading one uploaded file may cost (ingest/contained.py)."""
        limits = Limits(self.max_pages, self.max_unpacked_mb, self.max_html_depth)
        return Budget(self.parse_memory_mb, self.parse_seconds, limits, self.ingest_niceness)

    @property
    def max_job_bytes(self) -> int:
        return int(self.max_job_mb * 1024 * 1024)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@lru_cache
def get_settings() -> Settings:
    return Settings()
