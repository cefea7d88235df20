"""Keep the frame buffers of a long live run from growing the heap (glibc).

Every frame set allocates and frees a few ~1 MB images (camera frames, the renderer's canvases,
detector inputs) from several threads. glibc serves blocks above ``M_MMAP_THRESHOLD`` with
``mmap`` — returned to the system on ``free`` — but raises that threshold on its own once such a
block is freed, after which the images come from the per-thread heap arenas, where fragmentation
makes the resident size creep up over minutes although nothing leaks. Measured with ``mocap bench
live --soak``: +12 MiB (+4.9 %) over 10 minutes with the default, flat (+0.03 MiB per minute,
RSS 170 instead of 254 MiB) with the threshold fixed at 128 KiB. Fixing it is what the
``MALLOC_MMAP_THRESHOLD_=131072`` environment variable does at start-up; :func:`use_mmap_for_frames`
does it at run time, for the ``mocap live`` and ``mocap bench live`` processes (a process-wide
setting: the library itself never calls it).
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

#: glibc's ``mallopt`` parameter number of ``M_MMAP_THRESHOLD`` (malloc.h).
M_MMAP_THRESHOLD = -3


def use_mmap_for_frames(threshold_bytes: int = 128 * 1024) -> bool:
    """Serve every allocation above ``threshold_bytes`` with ``mmap`` from now on (glibc only).

    Returns:
        True when the setting was applied; False on other C libraries and systems (nothing changes).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc: keep its own policy
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(M_MMAP_THRESHOLD, int(threshold_bytes)))
    log.debug("mmap threshold %d bytes: %s", threshold_bytes, "set" if applied else "refused")
    return applied
