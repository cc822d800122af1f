"""Content codings of the wire (zstd, gzip): choosing one, compressing, and inflating safely.

Both sides use it: the server compresses answers and inflates pushes, the device
compresses pushes. Inflating never holds more than `limit` bytes of output, however
small the compressed body (a zip bomb is refused, not expanded).
"""

from __future__ import annotations

import gzip
import io
import zlib

import zstandard

from fieldsync.errors import BadRequest, PayloadTooLarge, UnsupportedEncoding

ZSTD, GZIP, IDENTITY = "zstd", "gzip", "identity"
CODINGS = (ZSTD, GZIP)  # in the order of preference: zstd costs less CPU for as many bytes
# Below this a compressed body saves no packet on the wire (see docs/benchmarks.md).
MIN_SIZE = 1024
GZIP_LEVEL = 6
ZSTD_LEVEL = 1
# zstd windows the device's own level uses with room to spare; a frame asking for a
# larger one (to make the server allocate it) is refused.
ZSTD_MAX_WINDOW = 8 * 1024 * 1024
CHUNK = 64 * 1024


def negotiate(accept_encoding: str) -> str | None:
    """The coding to answer with for this `Accept-Encoding`, or None for none."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        weights[name.strip().lower()] = _quality(params)
    for coding in CODINGS:
        if weights.get(coding, weights.get("*", 0.0)) > 0:
            return coding
    return None


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def compress(body: bytes, coding: str) -> bytes:
    """`body` in `coding` (zstd or gzip)."""
    if coding == ZSTD:
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(body)
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def inflate(body: bytes, coding: str, limit: int) -> bytes:
    """`body` decoded from `coding`: 413 past `limit` bytes, 415 for an unknown coding,
    400 for a body that is not what its coding says."""
    coding = coding.strip().lower()
    if coding in ("", IDENTITY):
        return body
    if coding not in CODINGS:
        raise UnsupportedEncoding(
            f"Content-Encoding {coding!r} is not accepted; send one of {', '.join(CODINGS)}"
        )
    try:
        out = _inflate_zstd(body, limit) if coding == ZSTD else _inflate_gzip(body, limit)
    except (zlib.error, zstandard.ZstdError, EOFError) as failure:
        raise BadRequest(
            f"the body is not valid {coding}: {failure}", code="malformed_encoding"
        ) from failure
    if out is None:
        raise PayloadTooLarge(f"the body inflates past {limit} bytes", code="body_too_large")
    return out


def _inflate_gzip(body: bytes, limit: int) -> bytes | None:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = inflater.decompress(body, limit + 1)
    if len(out) > limit:
        return None
    if not inflater.eof:
        raise EOFError("the gzip stream ends early")
    return out


def _inflate_zstd(body: bytes, limit: int) -> bytes | None:
    inflater = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    out = io.BytesIO()
    with inflater.stream_reader(io.BytesIO(body), read_across_frames=True) as reader:
        while chunk := reader.read(CHUNK):
            if out.tell() + len(chunk) > limit:
                return None
            out.write(chunk)
    return out.getvalue()
