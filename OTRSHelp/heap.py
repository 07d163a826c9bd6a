"""Keep the C heap from drifting up with the page's texts.

Why: glibc's malloc serves a block of 128 KiB or more with a mapping of its
own and unmaps it when it is freed, until the first such block is freed:
then it raises that threshold to the block's size (up to 32 MiB) so that
blocks of that size come from the main heap. The bot's large blocks are
the page's texts (300 KB and more at 300 applications; several per edit:
the revision, the diff, the rebuilt text). Once they come from the heap,
small objects allocated between them (a chat line's cooldown entry, a
stored row) pin the room they leave, and the room freed but kept grows:
bench/bench_soak.py measured it rising from 1.6 to 3.0 MiB over 28,000
polls with resident memory still climbing, while Python's objects and the
C memory in use stayed flat. With the threshold fixed at 128 KiB (which
also turns the adjustment off) the texts go back to the system when freed:
free-but-kept stayed at 0.7-0.9 MiB and resident memory flat.

Process-wide, and only where the C library is glibc (elsewhere, nothing).
Plain Python, no Limnoria.
"""
from __future__ import annotations

import ctypes

__all__ = ["MMAP_THRESHOLD", "steady_large_blocks"]

MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value
_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h


def steady_large_blocks(threshold: int = MMAP_THRESHOLD) -> bool:
    """Blocks of ``threshold`` bytes or more are mapped and returned to the
    system when freed, from now on. True if the C library took it."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, threshold) == 1
