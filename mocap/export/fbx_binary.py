"""The binary FBX container: typed node records, the header and the footer (no scene knowledge).

Format facts this module relies on (FBX 7.x binary, little-endian):

* The file starts with ``Kaydara FBX Binary  \\x00\\x1a\\x00`` and the version as ``u32``.
* A node record is ``end_offset, property_count, property_bytes`` (``u32`` each below version
  7500, ``u64`` from 7500), the name length (``u8``) and name, the properties, the child records,
  and -- when the node has children or no properties -- a null record (13 zero bytes below 7500,
  25 from 7500) that closes the child list. ``end_offset`` is absolute in the file. The top-level
  list is closed by a null record too.
* Property codes: ``Y`` i16, ``C`` bool byte, ``I`` i32, ``F`` f32, ``D`` f64, ``L`` i64, ``S``
  string and ``R`` raw bytes (``u32`` length first), and arrays ``i l f d b`` stored as ``u32``
  count, ``u32`` encoding (0 raw, 1 zlib deflate) and ``u32`` byte length before the data.
* After the top-level null record comes the footer: a 16-byte footer id, 4 zero bytes, zero
  padding to a multiple of 16 (a full 16 bytes when already aligned), the version (``u32``), 120
  zero bytes and a fixed 16-byte magic. The Autodesk SDK accepts the footer id that goes with the
  fixed ``FileId`` and ``CreationTime`` below.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mocap.errors import FileFormatError

MAGIC = b"Kaydara FBX Binary  \x00\x1a\x00"
#: Fixed FileId / CreationTime / footer id triple that FBX readers accept.
FILE_ID = b"\x28\xb3\x2a\xeb\xb6\x24\xcc\xc2\xbf\xc8\xb0\x2a\xa9\x2b\xfc\xf1"
CREATION_TIME = "1970-01-01 10:00:00:000"
FOOTER_ID = b"\xfa\xbc\xab\x09\xd0\xc8\xd4\x66\xb1\x76\xfb\x83\x1c\xf7\x26\x7e"
FOOTER_MAGIC = b"\xf8\x5a\x8c\x6a\xde\xf5\xd9\x7e\xec\xe9\x0c\xe3\x75\x8f\x29\x0b"
#: FBX time units per second (``KTime``) for versions below 8000.
KTIME_PER_SECOND = 46186158000

_SCALARS = {"Y": "<h", "C": "<B", "I": "<i", "F": "<f", "D": "<d", "L": "<q"}
_ARRAYS: dict[str, np.dtype[Any]] = {
    "i": np.dtype("<i4"),
    "l": np.dtype("<i8"),
    "f": np.dtype("<f4"),
    "d": np.dtype("<f8"),
    "b": np.dtype("u1"),
}
_COMPRESS_ABOVE = 256  # bytes: larger arrays are deflated


@dataclass
class Node:
    """One FBX node: a name, typed properties ``(code, value)`` and children."""

    name: str
    props: list[tuple[str, Any]] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)

    def add(self, name: str, *props: tuple[str, Any]) -> Node:
        """Append and return a child node."""
        child = Node(name, list(props))
        self.children.append(child)
        return child


# Typed property constructors, so call sites read like the format.
def i32(v: int) -> tuple[str, Any]:
    return ("I", int(v))


def i64(v: int) -> tuple[str, Any]:
    return ("L", int(v))


def f64(v: float) -> tuple[str, Any]:
    return ("D", float(v))


def string(v: str | bytes) -> tuple[str, Any]:
    return ("S", v.encode("utf-8") if isinstance(v, str) else v)


def raw(v: bytes) -> tuple[str, Any]:
    return ("R", v)


def array(code: str, values: NDArray[Any]) -> tuple[str, Any]:
    return (code, np.ascontiguousarray(values, dtype=_ARRAYS[code]))


def _encode_prop(code: str, value: Any) -> bytes:
    if code in _SCALARS:
        return code.encode() + struct.pack(_SCALARS[code], value)
    if code in ("S", "R"):
        return code.encode() + struct.pack("<I", len(value)) + bytes(value)
    if code in _ARRAYS:
        data = np.ascontiguousarray(value, dtype=_ARRAYS[code]).tobytes()
        count = len(value)
        if len(data) > _COMPRESS_ABOVE:
            packed = zlib.compress(data)
            return code.encode() + struct.pack("<III", count, 1, len(packed)) + packed
        return code.encode() + struct.pack("<III", count, 0, len(data)) + data
    raise ValueError(f"unknown FBX property code {code!r}")


def _encode_node(node: Node, offset: int, wide: bool) -> bytes:
    props = b"".join(_encode_prop(code, value) for code, value in node.props)
    name = node.name.encode("utf-8")
    head = 25 if wide else 13
    position = offset + head + len(name) + len(props)
    parts = []
    for child in node.children:
        encoded = _encode_node(child, position, wide)
        parts.append(encoded)
        position += len(encoded)
    if node.children or not node.props:
        parts.append(b"\x00" * head)
        position += head
    fmt = "<QQQB" if wide else "<IIIB"
    return struct.pack(fmt, position, len(node.props), len(props), len(name)) + name + props + b"".join(parts)


def encode_file(nodes: list[Node], version: int = 7400) -> bytes:
    """The bytes of a binary FBX file holding the top-level ``nodes``.

    Raises:
        ValueError: a version below 7100 (not readable by Blender) or an unknown property code.
    """
    if version < 7100:
        raise ValueError(f"FBX version {version} is too old; use 7100 or later")
    wide = version >= 7500
    out = bytearray(MAGIC + struct.pack("<I", version))
    for node in nodes:
        out += _encode_node(node, len(out), wide)
    out += b"\x00" * (25 if wide else 13)
    out += FOOTER_ID + b"\x00" * 4
    pad = (16 - len(out) % 16) or 16
    out += b"\x00" * pad
    out += struct.pack("<I", version) + b"\x00" * 120 + FOOTER_MAGIC
    return bytes(out)


def decode_file(data: bytes, path: str = "<bytes>") -> tuple[int, list[Node]]:
    """Parse binary FBX bytes back into nodes (for checks and inspection).

    Raises:
        FileFormatError: not a binary FBX file, or a record that does not add up.
    """
    if not data.startswith(MAGIC):
        raise FileFormatError(path, "", "not a binary FBX file (bad magic)")
    (version,) = struct.unpack_from("<I", data, len(MAGIC))
    wide = version >= 7500
    fmt, head = ("<QQQB", 25) if wide else ("<IIIB", 13)

    def read(offset: int) -> tuple[Node | None, int]:
        end, count, _, name_len = struct.unpack_from(fmt, data, offset)
        if end == 0:
            return None, offset + head
        pos = offset + head
        name = data[pos : pos + name_len].decode("utf-8", "replace")
        pos += name_len
        props: list[tuple[str, Any]] = []
        for _ in range(count):
            code = chr(data[pos])
            pos += 1
            if code in _SCALARS:
                (value,) = struct.unpack_from(_SCALARS[code], data, pos)
                pos += struct.calcsize(_SCALARS[code])
            elif code in ("S", "R"):
                (length,) = struct.unpack_from("<I", data, pos)
                value = data[pos + 4 : pos + 4 + length]
                pos += 4 + length
            elif code in _ARRAYS:
                n, encoding, length = struct.unpack_from("<III", data, pos)
                blob = data[pos + 12 : pos + 12 + length]
                pos += 12 + length
                value = np.frombuffer(zlib.decompress(blob) if encoding == 1 else blob, dtype=_ARRAYS[code])
                if len(value) != n:
                    raise FileFormatError(path, name, f"array of {len(value)} values, header says {n}")
            else:
                raise FileFormatError(path, name, f"unknown property code {code!r} at byte {pos - 1}")
            props.append((code, value))
        node = Node(name, props)
        while pos < end:
            child, pos = read(pos)
            if child is None:
                break
            node.children.append(child)
        if pos != end:
            raise FileFormatError(path, name, f"record ends at byte {pos}, header says {end}")
        return node, pos

    nodes = []
    pos = len(MAGIC) + 4
    while True:
        node, pos = read(pos)
        if node is None:
            break
        nodes.append(node)
    if not data[pos:].startswith(FOOTER_ID):
        raise FileFormatError(path, "footer", "missing the FBX footer")
    return version, nodes
