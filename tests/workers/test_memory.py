from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipeline.workers.memory import rss_mb

# Run in a child process: the setting is process-wide and glibc's threshold only ever rises.
PROBE = """
import ctypes, sys
from pipeline.workers.memory import libc, map_large_buffers_apart

class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

lib = libc()
lib.mallinfo2.restype = Mallinfo2
if sys.argv[1] == "apart":
    map_large_buffers_apart()
big = bytearray(8 << 20)
del big  # freeing a big mapping raises glibc's own threshold above its size
before = lib.mallinfo2().hblks
page = bytearray(512 << 10)
print(lib.mallinfo2().hblks - before)
"""


def mappings_for_one_page(mode: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_a_large_buffer_gets_a_mapping_of_its_own_even_after_a_larger_one_was_freed() -> None:
    assert mappings_for_one_page("glibc default") == 0  # carved from the heap
    assert mappings_for_one_page("apart") == 1  # handed back to the system once freed


def test_resident_memory_of_a_process() -> None:
    assert 1 < rss_mb() == pytest.approx(rss_mb(os.getpid()), abs=50)
    assert rss_mb(2**22 + 1) == 0.0  # above Linux's largest pid: no such process
