"""RecordIO: MXNet 1.x's ``mx.recordio`` over dmlc-core's record file format, in pure Python.

Files written here are read by MXNet (``mx.recordio``, ``ImageRecordIter``, ``im2rec.py``'s
output) and the other way round. The byte layout (dmlc-core ``recordio.h``), all little-endian:

* a record is one or more parts; each part is the magic word ``0xced7230a``, a length word
  (the upper 3 bits a continuation flag, the lower 29 bits the part's length) and the part's
  bytes, zero-padded to a multiple of 4;
* the flag is 0 for a whole record, 1/2/3 for the first/middle/last part of a split one;
* the writer splits a record wherever the magic word occurs in it at an offset that is a
  multiple of 4 (and drops it: the reader puts it back between the parts), so a reader that
  lost its place can find the next record by scanning for the magic word.

``pack``/``unpack`` add MXNet's image-record header (``IRHeader``, struct ``IfQQ``: flag,
label, id, id2; ``flag > 0`` means ``flag`` float32 labels follow the header). ``pack_img`` /
``unpack_img`` encode and decode images with Pillow (``pip install mxplug[image]``), keeping
OpenCV's channel order (BGR) as MXNet's cv2-based versions do.
"""

from __future__ import annotations

import numbers
import os
import struct
from collections import namedtuple

import numpy as np

from .base import AtomicFile, MXNetError, MXNetFileError, MXNetTypeError, MXNetValueError

__all__ = ["MXRecordIO", "MXIndexedRecordIO", "IRHeader", "pack", "unpack", "pack_img",
           "unpack_img", "RecordIOError"]

_MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", _MAGIC)
_LEN_MASK = (1 << 29) - 1
_MAX_RECORD = 1 << 29  # dmlc's limit: a part's length must fit the 29-bit field


class RecordIOError(MXNetFileError):
    """A record file that is truncated, corrupted or not a RecordIO file."""


def _encode_record(buf) -> bytes:
    """The bytes dmlc's ``RecordIOWriter::WriteRecord`` writes for one record."""
    n = len(buf)
    if n >= _MAX_RECORD:
        raise MXNetValueError(f"MXRecordIO.write: a record must be shorter than 2**29 bytes; "
                              f"this one has {n}")
    parts = []
    start = 0
    pos = buf.find(_MAGIC_BYTES)
    while pos != -1:
        if pos % 4 == 0:  # dmlc only looks at 4-byte-aligned offsets of the record
            parts.append((1 if start == 0 else 2, buf[start:pos]))
            start = pos + 4
            pos = buf.find(_MAGIC_BYTES, start)
        else:
            pos = buf.find(_MAGIC_BYTES, pos + 1)
    parts.append((3 if start else 0, buf[start:]))
    out = []
    for cflag, data in parts:
        out.append(struct.pack("<II", _MAGIC, (cflag << 29) | len(data)))
        out.append(data)
    out.append(b"\0" * (-(n - start) % 4))  # only the last part can be unaligned
    return b"".join(out)


def _positioned_reader(f):
    """``pread(n, offset)`` on the file object ``f``: reads that neither use nor move the
    shared file offset (seek + read where the OS has no pread)."""
    if hasattr(os, "pread"):
        fd = f.fileno()
        return lambda n, offset: os.pread(fd, n, offset)

    def pread(n, offset):
        f.seek(offset)
        return f.read(n)

    return pread


class MXRecordIO:
    """Reads/writes `RecordIO` data format, supporting sequential read and write.

    Example usage:

    >>> record = mx.recordio.MXRecordIO('tmp.rec', 'w')
    >>> for i in range(5):
    ...    record.write(b'record_%d' % i)
    >>> record.close()
    >>> record = mx.recordio.MXRecordIO('tmp.rec', 'r')
    >>> record.read()
    b'record_0'

    Parameters
    ----------
    uri : str
        Path to the record file.
    flag : str
        'w' for write or 'r' for read.

    Notes
    -----
    Reading uses positioned reads (``os.pread``), so a reader shared by threads or inherited by
    forked DataLoader workers never mixes up its file offset. Also a context manager. A reader
    pickles as (path, position) and reopens on unpickling; a writer cannot be pickled (MXNet
    would reopen it with 'w', truncating what was written).
    """

    def __init__(self, uri, flag):
        self.uri = os.fspath(uri)
        self.flag = flag
        self.is_open = False
        self._file = None
        self.open()

    # -- life cycle ------------------------------------------------------------------------
    def open(self):
        """Opens the record file ('w' truncates it, as in MXNet)."""
        if self.flag not in ("r", "w"):
            raise MXNetValueError(f"MXRecordIO: Invalid flag {self.flag!r}: expect 'r' or 'w'")
        if self.is_open:
            self.close()
        self.writable = self.flag == "w"
        if self.writable:  # renamed over uri by close(): never a half-written record file
            self._writer = AtomicFile(self.uri, "record file")
            self._file = self._writer.file
        else:
            try:
                self._file = open(self.uri, "rb", buffering=0)
            except OSError as e:
                raise MXNetFileError(f"MXRecordIO: cannot open {self.uri!r} for reading: "
                                     f"{e.strerror or e}") from None
        self._pos = 0
        self._pread = None if self.writable else _positioned_reader(self._file)
        self.is_open = True

    def close(self):
        """Closes the record file; a writer's records replace ``uri`` now, all at once."""
        if not getattr(self, "is_open", False):
            return
        self.is_open = False
        if self.writable:
            self._writer.commit()
        else:
            self._file.close()
        self._file = None

    def _discard(self):
        """Closes a writer without touching ``uri`` (what an exception in ``with`` does)."""
        if getattr(self, "is_open", False) and self.writable:
            self.is_open = False
            self._writer.discard()
            self._file = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing sensible left to do
            pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None:
            self._discard()
        self.close()

    def __getstate__(self):
        if getattr(self, "writable", False) and self.is_open:
            raise MXNetTypeError(f"{type(self).__name__}: a writer of {self.uri!r} cannot be "
                                 f"pickled (reopening it would truncate the file); close it "
                                 f"and pickle a reader")
        d = {k: v for k, v in self.__dict__.items()
             if k not in ("_file", "_pread", "_writer", "_idx_writer")}
        return d

    def __setstate__(self, d):
        pos = d.get("_pos", 0)
        self.__dict__.update(d)
        self.is_open = False
        self._file = None
        if d.get("is_open"):
            self.open()
            self._pos = pos

    def reset(self):
        """Resets the pointer to first item.

        If the record is opened with 'w', this function will truncate the file to empty.
        """
        self.close()
        self.open()

    def _check(self, op, want_writable):
        if not self.is_open:
            raise MXNetValueError(f"{type(self).__name__}.{op}: {self.uri!r} is closed")
        if self.writable != want_writable:
            raise MXNetValueError(f"{type(self).__name__}.{op}: {self.uri!r} is opened with "
                                  f"flag {self.flag!r}")

    # -- writing ---------------------------------------------------------------------------
    def write(self, buf):
        """Inserts a string buffer as a record.

        Parameters
        ----------
        buf : bytes
            Buffer to write (any bytes-like object).
        """
        self._check("write", True)
        if isinstance(buf, str):
            raise MXNetTypeError("MXRecordIO.write: Expect: bytes / Actual: str (encode it, "
                                 "e.g. s.encode('utf-8'))")
        data = _encode_record(bytes(memoryview(buf)))
        self._file.write(data)
        self._pos += len(data)

    def tell(self):
        """Returns the current position: where the next record is written (or read)."""
        if not self.is_open:
            raise MXNetValueError(f"{type(self).__name__}.tell: {self.uri!r} is closed")
        return self._pos

    # -- reading ---------------------------------------------------------------------------
    def _corrupt(self, offset, what):
        return RecordIOError(f"MXRecordIO: {self.uri!r} is truncated or corrupted at byte "
                             f"offset {offset}: {what}")

    def _read_at(self, pos):
        """(record, position after it) for the record at byte ``pos``; (None, pos) at the end.

        The end is where the file ends now (a file still being appended to reads on)."""
        parts = []
        while True:
            head = self._pread(8, pos)
            if not head and not parts:
                return None, pos
            if len(head) < 8:
                raise self._corrupt(pos, f"a record header needs 8 bytes, {len(head)} left")
            magic, lrec = struct.unpack("<II", head)
            if magic != _MAGIC:
                raise self._corrupt(pos, f"expected the magic word 0x{_MAGIC:08x}, found "
                                    f"0x{magic:08x} (not a RecordIO file, or a wrong .idx "
                                    f"offset)")
            cflag, length = lrec >> 29, lrec & _LEN_MASK
            if cflag > 3 or (cflag in (0, 1)) != (not parts):
                raise self._corrupt(pos, f"continuation flag {cflag} out of sequence")
            padded = (length + 3) & ~3
            data = self._pread(padded, pos + 8) if padded else b""
            if len(data) < padded:
                raise self._corrupt(pos, f"the record header says {length} bytes (padded to "
                                    f"{padded}) follow, only {len(data)} are left")
            parts.append(data[:length] if padded != length else data)
            pos += 8 + padded
            if cflag in (0, 3):
                return _MAGIC_BYTES.join(parts), pos

    def read(self):
        """Returns the next record as bytes, or None at the end of the file."""
        self._check("read", False)
        rec, self._pos = self._read_at(self._pos)
        return rec


class MXIndexedRecordIO(MXRecordIO):
    """Reads/writes `RecordIO` data format, supporting random access.

    The index file has one ``key<TAB>byte offset`` line per record (``im2rec.py``'s ``.idx``).

    Example usage:

    >>> record = mx.recordio.MXIndexedRecordIO('tmp.idx', 'tmp.rec', 'w')
    >>> for i in range(5):
    ...     record.write_idx(i, b'record_%d' % i)
    >>> record.close()
    >>> record = mx.recordio.MXIndexedRecordIO('tmp.idx', 'tmp.rec', 'r')
    >>> record.read_idx(3)
    b'record_3'

    Parameters
    ----------
    idx_path : str
        Path to the index file.
    uri : str
        Path to the record file. Only supports seekable file types.
    flag : str
        'w' for write or 'r' for read.
    key_type : type
        Data type for keys.
    """

    def __init__(self, idx_path, uri, flag, key_type=int):
        self.idx_path = os.fspath(idx_path)
        self.idx = {}
        self.keys = []
        self.key_type = key_type
        self.fidx = None
        super().__init__(uri, flag)

    def open(self):
        super().open()
        self.idx = {}
        self.keys = []
        if self.writable:
            try:
                self._idx_writer = AtomicFile(self.idx_path, "record index", text=True)
            except MXNetFileError:
                super()._discard()
                raise
            self.fidx = self._idx_writer.file
            return
        try:
            self.fidx = open(self.idx_path)
        except OSError as e:
            super().close()
            raise MXNetFileError(f"MXIndexedRecordIO: cannot open the index {self.idx_path!r}: "
                                 f"{e.strerror or e}") from None
        self._load_index()

    def _load_index(self):
        size = os.fstat(self._file.fileno()).st_size
        for lineno, line in enumerate(self.fidx, 1):
            fields = line.strip().split("\t")
            if fields == [""]:
                continue
            try:
                key, pos = self.key_type(fields[0]), int(fields[1])
            except (IndexError, ValueError):
                raise RecordIOError(f"MXIndexedRecordIO: {self.idx_path!r} line {lineno}: "
                                    f"expected 'key<TAB>offset', found {line.rstrip()!r}"
                                    ) from None
            if not 0 <= pos < size:
                raise RecordIOError(f"MXIndexedRecordIO: {self.idx_path!r} line {lineno}: "
                                    f"offset {pos} is outside {self.uri!r} ({size} bytes): "
                                    f"the index does not belong to this file")
            self.idx[key] = pos
            self.keys.append(key)

    def close(self):
        """Closes the record file."""
        if not getattr(self, "is_open", False):
            return
        writable = self.writable
        super().close()
        if self.fidx is not None:
            if writable:
                self._idx_writer.commit()
            else:
                self.fidx.close()
            self.fidx = None

    def _discard(self):
        if getattr(self, "is_open", False) and self.writable and self.fidx is not None:
            self._idx_writer.discard()
            self.fidx = None
        super()._discard()

    def __getstate__(self):
        d = super().__getstate__()
        d["fidx"] = None
        return d

    def __setstate__(self, d):
        # The index is part of the state: no need to parse the .idx file again.
        idx, keys, pos = d["idx"], d["keys"], d.get("_pos", 0)
        MXRecordIO.__setstate__(self, {**d, "is_open": False})
        if d.get("is_open"):
            MXRecordIO.open(self)
            self._pos = pos
        self.idx, self.keys = idx, keys

    def _key(self, idx, op):
        try:
            return self.idx[idx]
        except KeyError:
            raise MXNetValueError(f"MXIndexedRecordIO.{op}: key {idx!r} is not in the index "
                                  f"{self.idx_path!r} ({len(self.keys)} keys)") from None

    def seek(self, idx):
        """Sets the current read pointer position to the record with key ``idx``."""
        self._check("seek", False)
        self._pos = self._key(idx, "seek")

    def read_idx(self, idx):
        """Returns the record at given index."""
        self._check("read_idx", False)
        rec, self._pos = self._read_at(self._key(idx, "read_idx"))
        return rec

    def write_idx(self, idx, buf):
        """Inserts input record at given index.

        Parameters
        ----------
        idx : int
            Index of a file.
        buf :
            Record to write.
        """
        key = self.key_type(idx)
        pos = self.tell()
        self.write(buf)
        self.fidx.write(f"{key}\t{pos}\n")
        self.idx[key] = pos
        self.keys.append(key)


IRHeader = namedtuple("HEADER", ["flag", "label", "id", "id2"])
IRHeader.__doc__ = """An alias for HEADER. Used to store metadata (e.g. labels) accompanying a
record. See :func:`pack` and :func:`pack_img`.

Parameters
----------
flag : int
    Available for convenience, can be set arbitrarily (``pack`` sets it to the number of
    labels when ``label`` is an array).
label : float or an array of float
    Typically used to store label(s) for a record.
id : int
    Usually a unique id representing record.
id2 : int
    Higher order bits of the unique id, should be set to 0 (in most cases).
"""
_IR_FORMAT = "<IfQQ"  # MXNet writes native "IfQQ": the same 24 bytes on little-endian
_IR_SIZE = struct.calcsize(_IR_FORMAT)


def pack(header, s):
    """Pack a string into MXImageRecord.

    Parameters
    ----------
    header : IRHeader
        Header of the image record. ``header.label`` can be a number or an array.
    s : bytes
        Raw image string to be packed.

    Returns
    -------
    bytes
        The packed string.
    """
    header = IRHeader(*header)
    if isinstance(header.label, numbers.Number):
        header = header._replace(flag=0)
    else:
        label = np.asarray(header.label, dtype=np.float32)
        header = header._replace(flag=label.size, label=0)
        s = label.tobytes() + bytes(s)
    return struct.pack(_IR_FORMAT, *header) + bytes(s)


def unpack(s):
    """Unpack a MXImageRecord to string.

    Parameters
    ----------
    s : bytes
        String buffer from ``MXRecordIO.read``.

    Returns
    -------
    header : IRHeader
        Header of the image record (``label`` a float, or a float32 array when flag > 0).
    s : bytes
        Unpacked string.
    """
    if len(s) < _IR_SIZE:
        raise MXNetValueError(f"recordio.unpack: a record needs a {_IR_SIZE}-byte header, "
                              f"this one has {len(s)} bytes")
    header = IRHeader(*struct.unpack(_IR_FORMAT, s[:_IR_SIZE]))
    s = s[_IR_SIZE:]
    if header.flag > 0:
        if len(s) < 4 * header.flag:
            raise MXNetValueError(f"recordio.unpack: the header announces {header.flag} "
                                  f"labels, only {len(s)} bytes follow")
        header = header._replace(label=np.frombuffer(s, np.float32, header.flag).copy())
        s = s[header.flag * 4:]
    return header, s


# -- images through Pillow (optional) ---------------------------------------------------------

def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise MXNetError("image encoding/decoding needs Pillow: pip install mxplug[image] "
                         "(or pip install 'pillow>=10')") from None
    return Image


def _decode_image(buf, flag, what="image"):
    """A NumPy uint8 image from encoded bytes: flag 1 -> (H, W, 3) RGB, 0 -> (H, W) gray,
    -1 -> as stored ((H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA)."""
    import io

    Image = _pillow()
    try:
        img = Image.open(io.BytesIO(bytes(buf)))
        img.load()
    except Exception as e:  # Pillow raises several types for bad data
        raise MXNetValueError(f"cannot decode the {what} ({len(buf)} bytes): {e}") from None
    if flag == 0:
        mode = "L"
    elif flag > 0:
        mode = "RGB"
    else:
        mode = img.mode if img.mode in ("L", "RGB", "RGBA") else (
            "RGBA" if "A" in img.getbands() else "RGB")
    return np.asarray(img.convert(mode) if img.mode != mode else img, dtype=np.uint8)


_PNG_FORMATS = (".PNG",)
_JPG_FORMATS = (".JPG", ".JPEG")


def _encode_image(img, quality, img_fmt):
    """Encoded bytes of a NumPy uint8 RGB / RGBA / gray image."""
    import io

    Image = _pillow()
    a = np.asarray(img)
    if a.dtype != np.uint8:
        raise MXNetTypeError(f"pack_img: Expect: a uint8 image / Actual: dtype {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise MXNetValueError(f"pack_img: Expect: an image (H, W), (H, W, 1), (H, W, 3) or "
                              f"(H, W, 4) / Actual: shape {a.shape}")
    fmt = img_fmt.upper()
    if not fmt.startswith("."):
        fmt = "." + fmt
    pil_format = Image.registered_extensions().get(fmt.lower())
    if pil_format is None:
        raise MXNetValueError(f"pack_img: unknown image format {img_fmt!r}; use '.jpg' or "
                              f"'.png'")
    kwargs = {}
    if fmt in _JPG_FORMATS:
        if a.ndim == 3 and a.shape[2] == 4:
            raise MXNetValueError("pack_img: JPEG has no alpha channel; pass (H, W, 3) or use "
                                  "'.png'")
        kwargs["quality"] = int(quality)
    elif fmt in _PNG_FORMATS:
        kwargs["compress_level"] = min(max(int(quality), 0), 9)  # OpenCV clamps the same way
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a)).save(out, format=pil_format, **kwargs)
    return out.getvalue()


def unpack_img(s, iscolor=-1):
    """Unpack a MXImageRecord to image.

    Parameters
    ----------
    s : bytes
        String buffer from ``MXRecordIO.read``.
    iscolor : int
        Image format option, as for ``cv2.imdecode``: 1 colour (3 channels), 0 grayscale
        (2-D), -1 unchanged.

    Returns
    -------
    header : IRHeader
        Header of the image record.
    img : numpy.ndarray
        Unpacked image, in OpenCV's channel order (BGR / BGRA) as MXNet returns it.
    """
    header, s = unpack(s)
    img = _decode_image(s, iscolor, "image record")
    if img.ndim == 3:
        img = np.ascontiguousarray(img[:, :, [2, 1, 0, 3][:img.shape[2]]])
    return header, img


def pack_img(header, img, quality=95, img_fmt=".jpg"):
    """Pack an image into ``MXImageRecord``.

    Parameters
    ----------
    header : IRHeader
        Header of the image record. ``header.label`` can be a number or an array.
    img : numpy.ndarray
        Image to be packed: uint8, in OpenCV's channel order (BGR / BGRA, or gray), as
        ``cv2.imread`` returns it.
    quality : int
        Quality for JPEG encoding in range 1-100, or compression for PNG encoding in range 1-9.
    img_fmt : str
        Encoding of the image (.jpg for JPEG, .png for PNG).

    Returns
    -------
    bytes
        The packed string.
    """
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = a[:, :, [2, 1, 0, 3][:a.shape[2]]]  # BGR(A) -> RGB(A) for Pillow
    return pack(header, _encode_image(a, quality, img_fmt))
