"""Training on several processes with ``torch.distributed`` (launched by ``torchrun``).

``torchrun --nproc-per-node 2 --no-python haplogen train ...`` starts the same command in every
process, with ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` in its environment.
:func:`process_group` joins the group (gloo on CPU, NCCL when the model computes on CUDA); every
process reads the data and builds the same initial model from the seed, splits each epoch's
work by :func:`my_share`, and adds its partial results to the others' with :func:`all_sum`, so
that every process holds the same weights after every epoch. Only process 0 writes the model
directory, the checkpoints and the progress lines (:func:`is_writer`). A family opts in with
``distributed = True`` (:class:`haplogen.models.base.GenerativeModel`); the hmm family sums its
EM statistics this way (the E-step's batches are shared out; the M-step is the same everywhere).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator, Sequence, TypeVar

import torch

from ..errors import InputError

__all__ = ["launched", "world", "is_writer", "my_share", "all_sum", "broadcast_int", "agree", "process_group"]

T = TypeVar("T")


def launched() -> bool:
    """True when this process was started by torchrun (or another launcher) with WORLD_SIZE > 1."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def _active() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def world() -> tuple[int, int]:
    """(rank, number of processes) of the process group; (0, 1) outside one."""
    if not _active():
        return 0, 1
    return torch.distributed.get_rank(), torch.distributed.get_world_size()


def is_writer() -> bool:
    """True for the one process that writes outputs (rank 0, or the only process)."""
    return world()[0] == 0


def my_share(items: Sequence[T]) -> Sequence[T]:
    """This process's share of ``items`` (every ``size``-th item from its rank)."""
    rank, size = world()
    return items[rank::size] if size > 1 else items


def all_sum(tensors: Sequence[torch.Tensor]) -> None:
    """Replace each tensor by its sum over the processes (in place; nothing outside a group)."""
    if world()[1] == 1:
        return
    for t in tensors:
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.SUM)


def broadcast_int(value: int) -> int:
    """Process 0's ``value`` on every process (``value`` itself outside a group)."""
    if world()[1] == 1:
        return int(value)
    on = "cuda" if torch.distributed.get_backend() == "nccl" else "cpu"
    t = torch.tensor([int(value)], dtype=torch.int64, device=on)
    torch.distributed.broadcast(t, src=0)
    return int(t.item())


def agree(flag: bool, device: torch.device | str = "cpu") -> bool:
    """True when ``flag`` is true on any process: every process takes the same decision."""
    if world()[1] == 1:
        return bool(flag)
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
    return bool(t.item() > 0)


@contextmanager
def process_group(device: str = "cpu") -> Iterator[tuple[int, int]]:
    """Join the process group that torchrun set up, for the duration of the block.

    Yields (rank, number of processes); (0, 1) and nothing done when the process was not
    launched with WORLD_SIZE > 1 or a group already exists.

    Raises
    ------
    InputError
        When the launcher's environment is incomplete (a missing MASTER_ADDR, ...).
    """
    if not launched() or _active():
        yield world()
        return
    missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise InputError(
            f"WORLD_SIZE is {os.environ['WORLD_SIZE']} but {', '.join(missing)} is not set; start several "
            "processes with torchrun (torchrun --nproc-per-node 2 --no-python haplogen train ...)"
        )
    backend = "nccl" if str(device).startswith("cuda") else "gloo"
    torch.distributed.init_process_group(backend=backend)
    try:
        yield world()
    finally:
        torch.distributed.destroy_process_group()
