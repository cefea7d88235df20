"""use_mmap_for_frames: applied on glibc, harmless to repeat."""

import platform
import sys

from mocap.live.memory import use_mmap_for_frames


def test_the_threshold_is_set_on_glibc_and_can_be_set_again():
    applied = use_mmap_for_frames()
    assert applied == use_mmap_for_frames()
    assert applied == (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc")
