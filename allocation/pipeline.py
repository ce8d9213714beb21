"""From a validated problem to a finished allocations file, the writing overlapped with the engine's proof.

The solve and the certificate are the work that a plain proportional split does not do. The certificate
overlaps writing, which every method needs: the engine (allocation.engine) prepares this sink (the text
tables of ids and numbers) in its helper thread while it solves, then checks the allocation in that thread
while the rows are rendered from integer codes a chunk at a time and written to a temporary file. The file
is renamed onto its target only when the certificate passes, so a failed proof, a full disk or any error
leaves no output file.
"""

from __future__ import annotations

from pathlib import Path

from allocation.certificate import REASONS, CertificateFailed, certify
from allocation.engine import Check, Result, Solve, allocate
from allocation.files import AllocationsFile, discard, move_into_place
from allocation.problem import Problem
from allocation.vocabulary import Priority

__all__ = ["CertificateFailed", "allocate_to_file"]


def _render(problem: Problem) -> AllocationsFile:
    return AllocationsFile(problem.line_retailer, problem.retailer_ids, problem.line_spec, problem.brand_codes,
                           problem.line_demand, REASONS)


class FileSink:
    """The allocations file as the engine's sink: rendered, written to a temporary file, renamed or removed."""

    def __init__(self, problem: Problem, out: Path | str, durable: bool = True):
        self.problem, self.out, self.durable = problem, Path(out), durable
        self.rendered: AllocationsFile | None = None
        self.tmp: Path | None = None

    def prepare(self) -> None:
        self.rendered = _render(self.problem)

    def write(self, allocated, reason_codes) -> None:
        self.tmp = self.rendered.write_temp(self.out, allocated, reason_codes, self.durable)

    def keep(self) -> None:
        move_into_place(self.tmp, self.out, self.durable)
        self.tmp = None

    def discard(self) -> None:
        if self.tmp is not None:
            discard(self.tmp)
            self.tmp = None


def allocate_to_file(problem: Problem, out: Path | str, solve: Solve | None = None,
                     check: Check | None = certify, durable: bool = True,
                     priority: Priority | str = Priority.VOLUME) -> Result:
    """Compute, certify and write one allocation; raises CertificateFailed (and writes nothing) if the check fails.

    A baseline passes its own `solve` and `check=None` to run through the same reader, writer and overlap."""
    return allocate(problem, FileSink(problem, out, durable), solve=solve, check=check, priority=priority)
