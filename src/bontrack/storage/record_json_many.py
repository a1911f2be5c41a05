"""Many versions' packed content unpacked at once: the report reads 50,000 versions a batch.

Unpacked one at a time (``record_json.unpack_text``) a version costs about 3.4 us, most of it
Python's: the call, the bytes made twice, the text decoded. Here a whole column goes through
libzstd in one call. zstd frames may be laid end to end (RFC 8878, section 3.1: a compressed
stream is one or more frames; ``ZSTD_decompressDCtx`` reads them all and writes their contents
end to end), so the BLOBs' tag bytes are dropped with numpy and the frames decompressed in one
call, without Python's lock. Where each version's text ends is read from its frame's header
(section 3.1.1.1: ``Frame_Content_Size``, which ``record_json.pack`` always writes), and the
lengths must add up to what the library wrote.

Only a column of packed BLOBs of tag 1 (every version migration 0019 or bontrack wrote since) is
taken this way; anything else (a NULL, text, a BLOB another program wrote, a frame without its
size, text that is not UTF-8, no libzstd) returns None and is read version by version as before,
with the same answer.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bontrack.storage import record_json

FIELD_BYTES = np.array([0, 2, 4, 8])  # Frame_Content_Size's bytes by its flag (flag 0: see below)
DICT_ID_BYTES = np.array([0, 1, 2, 4])  # Dictionary_ID's bytes by its flag
RESERVED_BIT = 0x08


AVAILABLE = record_json.unpacks_frames()  # (else every column is read version by version)


def content_sizes(frames: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray | None:
    """Each magicless frame's content size, read from its header (frames[starts[i]:ends[i]]);
    None when a frame does not say it or its header does not fit in the frame."""
    n = len(starts)
    if np.any(ends - starts < 2):
        return None
    descriptor = frames[starts].astype(np.int64)
    if np.any(descriptor & RESERVED_BIT):
        return None
    size_flag = descriptor >> 6
    single_segment = (descriptor >> 5) & 1
    field = np.where(size_flag == 0, single_segment, FIELD_BYTES[size_flag])
    if np.any(field == 0):  # the size was not written
        return None
    at = starts + 1 + (1 - single_segment) + DICT_ID_BYTES[descriptor & 3]
    if np.any(at + field > ends):
        return None
    sizes = np.zeros(n, np.int64)
    last = len(frames) - 1
    for k in range(8):
        has = k < field
        if not has.any():
            break
        byte = frames[np.minimum(at + k, last)].astype(np.int64)
        sizes += np.where(has, byte << (8 * k), 0)
    return sizes + np.where(field == 2, 256, 0)  # (two bytes hold the size less 256)


def texts(values: pa.Array, packed: pa.Array) -> pa.Array | None:
    """The JSON text of each value (what ``record_json.unpack_text`` gives, as an Arrow string
    column), every value being a packed BLOB of tag 1; None when this way cannot tell (see the
    module): the caller then unpacks each value."""
    if not AVAILABLE or values.null_count or packed.null_count or not pa.types.is_binary(values.type):
        return None
    n = len(values)
    if n == 0:
        return pa.array([], pa.string())
    flags = np.asarray(packed.to_numpy(zero_copy_only=False))
    if not flags.all():
        return None
    offsets = np.frombuffer(values.buffers()[1], np.int32, n + 1, values.offset * 4).astype(np.int64)
    data = np.frombuffer(values.buffers()[2], np.uint8)
    first, tags = offsets[0], offsets[:-1]
    if np.any(offsets[1:] - tags < 2) or np.any(data[tags] != record_json.TAG_1):
        return None
    keep = np.ones(offsets[-1] - first, bool)
    keep[tags - first] = False
    frames = np.ascontiguousarray(data[first : offsets[-1]][keep])
    starts = tags - first - np.arange(n)  # (each frame moves back by the tags before it and its own)
    ends = offsets[1:] - first - np.arange(1, n + 1)
    sizes = content_sizes(frames, starts, ends)
    if sizes is None:
        return None
    total = int(sizes.sum())
    if total >= 2**31:  # (past a string column's 32-bit offsets)
        return None
    out = np.empty(max(total, 1), np.uint8)
    written = record_json.unpack_frames_into(out.ctypes.data, total, frames.ctypes.data, len(frames))
    if written != total:
        return None
    ends_out = np.zeros(n + 1, np.int32)
    np.cumsum(sizes, out=ends_out[1:])
    result = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(ends_out), pa.py_buffer(out[:total])])
    try:
        result.validate(full=True)  # (UTF-8 throughout)
    except pa.ArrowInvalid:
        return None
    return result
