"""heap.steady_large_blocks: a page's text, once freed, goes back to the
system instead of staying in the heap (bench/bench_soak.py shows what that
does to resident memory over months of polls)."""
from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from OTRSHelp.heap import steady_large_blocks

CHILD = textwrap.dedent("""
    import ctypes, sys
    sys.path.insert(0, {root!r})
    from OTRSHelp.heap import steady_large_blocks

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    if {steady!r}:
        assert steady_large_blocks()
    # a 1 MB text freed: glibc would now keep blocks up to 1 MB in its heap
    big = bytearray(1_000_000); del big
    before = libc.mallinfo2().hblkhd
    page = bytearray(300_000)  # the next revision's text
    print(libc.mallinfo2().hblkhd - before >= 300_000)
""")


def mapped_on_its_own(steady: bool) -> bool:
    """Is a 300 KB block allocated after a 1 MB one was freed mapped on its own?"""
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=root, steady=steady)],
                         capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip() == "True"


glibc = pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="glibc 2.33+ only")


@glibc
def test_large_texts_stay_out_of_the_heap_once_steadied():
    assert mapped_on_its_own(steady=True)


@glibc
def test_glibc_alone_would_keep_them_in_the_heap():
    """The reason for heap.py: without it, the freed 1 MB raised the
    threshold and the next text comes from the heap."""
    assert not mapped_on_its_own(steady=False)


def test_says_whether_it_took():
    assert steady_large_blocks() is hasattr(ctypes.CDLL(None), "mallopt")
