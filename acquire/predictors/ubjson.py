"""A strict reader and writer for the UBJSON that XGBoost saves models in (``predictor.ubj``).

XGBoost's own UBJSON parser trusts the lengths in the file: one flipped byte can make it read
past its buffer and kill the process (seen in the tampered-folder property test). A model folder
is a file a user hands us, so its bytes are decoded here first, every length bounded by the bytes
that remain and the nesting depth bounded; only a document that decodes completely is written
back out (canonically) and given to XGBoost.

Format (UBJSON draft 12, big-endian): ``Z`` null, ``T``/``F`` booleans, ``i U I l L`` integers of
1/1/2/4/8 bytes, ``d D`` floats of 4/8 bytes, ``C`` char, ``S``/``H`` a length then bytes, ``[ ]``
arrays and ``{ }`` objects (keys: a length then bytes), either with ``$type#count`` (typed: a flat
block of numbers, decoded as one NumPy array) or ``#count`` or an end marker.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

__all__ = ["UBJSONError", "decode", "encode"]

MAX_DEPTH = 64
_NUMBERS = {b"i": ">i1", b"U": ">u1", b"I": ">i2", b"l": ">i4", b"L": ">i8", b"d": ">f4", b"D": ">f8"}


class UBJSONError(ValueError):
    """The bytes are not a complete, well-formed UBJSON document."""


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.at = 0

    def take(self, n: int) -> memoryview:
        if n < 0 or self.at + n > len(self.data):
            raise UBJSONError(f"a length at byte {self.at} runs past the end of the file")
        chunk = self.data[self.at:self.at + n]
        self.at += n
        return chunk

    def marker(self) -> bytes:
        while True:
            m = bytes(self.take(1))
            if m != b"N":  # no-op
                return m

    def number(self, m: bytes) -> Any:
        dtype = np.dtype(_NUMBERS[m])
        value = np.frombuffer(self.take(dtype.itemsize), dtype=dtype)[0]
        return float(value) if dtype.kind == "f" else int(value)

    def length(self) -> int:
        m = self.marker()
        if m not in _NUMBERS or m in (b"d", b"D"):
            raise UBJSONError(f"a length at byte {self.at - 1} is not an integer")
        n = self.number(m)
        if n < 0:
            raise UBJSONError(f"a negative length at byte {self.at - 1}")
        return n

    def text(self) -> str:
        try:
            return bytes(self.take(self.length())).decode("utf-8")
        except UnicodeDecodeError:
            raise UBJSONError(f"a string before byte {self.at} is not UTF-8") from None

    def value(self, m: bytes, depth: int) -> Any:
        if m in _NUMBERS:
            return self.number(m)
        if m == b"Z":
            return None
        if m in (b"T", b"F"):
            return m == b"T"
        if m == b"C":
            return bytes(self.take(1)).decode("latin-1")
        if m == b"S":
            return self.text()
        if m == b"H":
            text = self.text()
            try:
                return float(text) if any(c in text for c in ".eE") else int(text)
            except ValueError:
                raise UBJSONError(f"a high-precision number {text[:40]!r} is not a number") from None
        if m in (b"[", b"{"):
            if depth >= MAX_DEPTH:
                raise UBJSONError(f"containers nested deeper than {MAX_DEPTH}")
            return self.container(m == b"{", depth + 1)
        raise UBJSONError(f"unknown marker {m!r} at byte {self.at - 1}")

    def container(self, is_object: bool, depth: int) -> Any:
        kind = count = None
        m = self.marker()
        if m == b"$":
            kind = self.marker()
            if self.marker() != b"#":
                raise UBJSONError(f"a typed container without a count at byte {self.at - 1}")
            count = self.length()
        elif m == b"#":
            count = self.length()
        else:
            self.at -= 1
        if count is not None and count > len(self.data):  # every item takes a byte, except typed nulls/booleans
            raise UBJSONError(f"a count of {count:,} at byte {self.at} exceeds the file's size")
        if not is_object and kind in _NUMBERS and count is not None:  # a flat block of numbers
            dtype = np.dtype(_NUMBERS[kind])
            return np.frombuffer(self.take(count * dtype.itemsize), dtype=dtype).astype(dtype.newbyteorder("="))
        items: Any = {} if is_object else []
        end = b"}" if is_object else b"]"
        i = 0
        while count is None or i < count:
            if count is None:
                m = self.marker()
                if m == end:
                    break
                self.at -= 1
            key = self.text() if is_object else None
            item = self.value(kind if kind is not None else self.marker(), depth)
            if is_object:
                items[key] = item
            else:
                items.append(item)
            i += 1
        return items


def decode(data: bytes) -> Any:
    """The document ``data`` holds; :class:`UBJSONError` unless it is complete and well formed."""
    reader = _Reader(data)
    try:
        doc = reader.value(reader.marker(), 0)
    except (struct.error, KeyError, IndexError, OverflowError) as exc:
        raise UBJSONError(f"malformed at byte {reader.at}: {exc}") from None
    if reader.at != len(reader.data):
        raise UBJSONError(f"{len(reader.data) - reader.at} bytes after the end of the document")
    return doc


def _length(n: int) -> bytes:
    return b"L" + struct.pack(">q", n)


def _text(s: str) -> bytes:
    raw = s.encode("utf-8")
    return _length(len(raw)) + raw


def encode(doc: Any) -> bytes:
    """``doc`` (as :func:`decode` returns it) as canonical UBJSON: typed arrays stay typed."""
    out: list[bytes] = []

    def put(v: Any) -> None:
        if v is None:
            out.append(b"Z")
        elif isinstance(v, bool):
            out.append(b"T" if v else b"F")
        elif isinstance(v, int):
            out.append(b"L" + struct.pack(">q", v))
        elif isinstance(v, float):
            out.append(b"D" + struct.pack(">d", v))
        elif isinstance(v, str):
            out.append(b"S" + _text(v))
        elif isinstance(v, np.ndarray):
            marker = next(m for m, d in _NUMBERS.items() if np.dtype(d).newbyteorder("=") == v.dtype)
            out.append(b"[$" + marker + b"#" + _length(len(v)) + v.astype(_NUMBERS[marker]).tobytes())
        elif isinstance(v, list):  # XGBoost writes (and recognises) end-marked containers
            out.append(b"[")
            for item in v:
                put(item)
            out.append(b"]")
        elif isinstance(v, dict):
            out.append(b"{")
            for key, item in v.items():
                out.append(_text(key))
                put(item)
            out.append(b"}")
        else:
            raise TypeError(f"cannot encode {type(v).__name__}")

    put(doc)
    return b"".join(out)
