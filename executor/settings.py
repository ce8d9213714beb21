"""How jobs are executed and how fast a lost one is noticed: settings read from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ExecutorSettings(BaseSettings):
    """RUNS_* settings; the API's settings extend these, and `tobacco-alloc worker` reads them alone."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    runs_executor: Literal["local", "queue"] = Field("local", description=(
        "local: the API starts a process per run on its own host (the only choice on SQLite); queue: the API "
        "only enqueues and `tobacco-alloc worker` processes execute (PostgreSQL only)"))
    runs_heartbeat_s: float = Field(10.0, gt=0, description="how often the executing process renews its lease, "
                                                            "and a queue worker its heartbeat")
    runs_lease_s: float = Field(60.0, gt=0, description="a run whose lease was not renewed for this long is failed "
                                                        "(executor_lost) by any API or worker process")
    runs_stalled_s: float = Field(60.0, gt=0, description="a queue job whose worker sent no heartbeat for this "
                                                          "long is failed, with its run")
    runs_sweep_s: float = Field(30.0, gt=0, description="how often every API and worker process looks for expired "
                                                        "leases and stalled jobs")

    @model_validator(mode="after")
    def _heartbeat_inside_lease(self) -> ExecutorSettings:
        if self.runs_heartbeat_s * 2 > min(self.runs_lease_s, self.runs_stalled_s):
            raise ValueError("RUNS_HEARTBEAT_S must be at most half of RUNS_LEASE_S and of RUNS_STALLED_S, so one "
                             "late renewal does not lose a run")
        return self

    @property
    def loss_bound_s(self) -> float:
        """The longest a run can stay `running` after its executor died, and its cycle's next run wait."""
        return max(self.runs_lease_s, self.runs_stalled_s) + self.runs_sweep_s
