"""Trellis settings: one pydantic-settings class, read from `TRELLIS_*` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob Trellis reads; the defaults make `make run` work with no configuration."""

    model_config = SettingsConfigDict(env_prefix="TRELLIS_", extra="ignore")

    data_dir: Path = Field(Path(".trellis"), description="Folder for the zero-setup SQLite database and local files.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; unset means SQLite at <data_dir>/trellis.db.")
    redis_url: str | None = Field(None, description="Redis URL; unset means the in-process executor.")
    port: int = Field(3000, ge=1, le=65535, description="Port serving pages and API.")
    public_url: str | None = Field(None, description="Public base URL; unset means http://localhost:<port>.")
    max_import_bytes: int = Field(5 * 1024 * 1024, gt=0, description="Largest workflow document accepted.")

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: the configured one, or the default SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'trellis.db').resolve()}"

    @property
    def resolved_public_url(self) -> str:
        """The base URL users reach the app at."""
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
