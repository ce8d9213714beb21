"""Schema creation by migrations only, so every database is built the same way."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

import migrations


def alembic_config(engine: Engine | None = None, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    elif engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Schema comparison skips the task queue's own tables (procrastinate_*): its migration owns them."""
    return not (type_ == "table" and name and name.startswith("procrastinate_"))


def upgrade(engine: Engine) -> None:
    """Create or migrate the schema to the newest revision; idempotent."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
