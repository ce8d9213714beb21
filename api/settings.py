"""Configuration from the environment, so one image runs anywhere."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import make_url

from executor.settings import ExecutorSettings
from models.db import DEFAULT_URL


class Settings(ExecutorSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str = Field(DEFAULT_URL, description="SQLAlchemy URL; postgresql+psycopg://... in production")
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(64_000_000, description="largest request body accepted (an order import)")
    max_order_lines: int = Field(500, description="most lines one order may carry")
    sqlite_lock_timeout: float = Field(5.0, gt=0, description=(
        "SQLite only: seconds a request waits for the write lock before it is answered 503 with Retry-After "
        "(far above the waits of a normal burst, under a client's patience)"))
    run_in_process: bool = Field(False, description="run allocations inline (tests) instead of a worker process")

    @model_validator(mode="after")
    def _queue_needs_postgresql(self) -> Settings:
        if self.runs_executor == "queue" and make_url(self.database_url).get_backend_name() != "postgresql":
            raise ValueError("RUNS_EXECUTOR=queue needs PostgreSQL (DATABASE_URL=postgresql+psycopg://...); "
                             "use RUNS_EXECUTOR=local with SQLite")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
