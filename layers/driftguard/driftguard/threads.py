"""Work that waits on AWS, done on threads: a sweep shard's policy reads, a role
event's fan-out. boto3 clients are thread-safe; each resource keeps its own lease."""

from __future__ import annotations

from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def in_threads(work: Callable[[T], R], items: list[T], threads: int) -> Generator[R]:
    """`map(work, items)` on `threads` threads, in order; the calls mostly wait on AWS.
    Closing the iterator early cancels what has not started."""
    if threads <= 1 or len(items) <= 1:
        yield from map(work, items)
        return
    pool = ThreadPoolExecutor(min(threads, len(items)), thread_name_prefix="sweep")
    try:
        yield from pool.map(work, items)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
