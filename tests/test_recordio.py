"""mx.recordio: dmlc RecordIO bytes (against a word-by-word re-implementation of dmlc's writer
and hand-written bytes from the spec), indexed access, MXNet's pack/unpack header, images,
and truncated or corrupted files."""

from __future__ import annotations

import io
import os
import pickle
import struct
import sys
import threading

import numpy as np
import pytest

from mxplug import recordio
from mxplug.base import MXNetError, MXNetFileError
from mxplug.gluon.data import RecordFileDataset
from mxplug.recordio import IRHeader, MXIndexedRecordIO, MXRecordIO, RecordIOError

MAGIC = 0xCED7230A
MAGIC_LE = bytes([0x0A, 0x23, 0xD7, 0xCE])


def _ref_encode(rec: bytes) -> bytes:
    """dmlc-core RecordIOWriter::WriteRecord, transcribed literally (4-byte word scan)."""
    out = bytearray()
    n = len(rec)
    lower_align, upper_align = (n >> 2) << 2, ((n + 3) >> 2) << 2
    dptr = 0
    for i in range(0, lower_align, 4):
        if rec[i:i + 4] == MAGIC_LE:
            out += MAGIC_LE + struct.pack("<I", ((1 if dptr == 0 else 2) << 29) | (i - dptr))
            out += rec[dptr:i]
            dptr = i + 4
    out += MAGIC_LE + struct.pack("<I", ((3 if dptr != 0 else 0) << 29) | (n - dptr))
    out += rec[dptr:]
    out += b"\0" * (upper_align - n)
    return bytes(out)


def _records(seed=0, n=40):
    rng = np.random.RandomState(seed)
    recs = [b"", MAGIC_LE, MAGIC_LE * 3, b"abc" + MAGIC_LE, b"abcd" + MAGIC_LE + b"x",
            b"x" * 8 + MAGIC_LE, MAGIC_LE + b"tail", b"\0" * 5]
    for _ in range(n):
        body = bytearray(rng.randint(0, 256, size=rng.randint(0, 60)).astype(np.uint8).tobytes())
        for _ in range(rng.randint(0, 3)):  # sprinkle magic words, aligned or not
            pos = rng.randint(0, len(body) + 1)
            body[pos:pos] = MAGIC_LE
        recs.append(bytes(body))
    return recs


def _write(path, recs):
    with MXRecordIO(str(path), "w") as w:
        for r in recs:
            w.write(r)


def _read_all(path):
    r = MXRecordIO(str(path), "r")
    out = []
    while (rec := r.read()) is not None:
        out.append(rec)
    r.close()
    return out


# -- the byte format ----------------------------------------------------------------------------
def test_bytes_match_dmlc_writer_and_round_trip(tmp_path):
    recs = _records()
    path = tmp_path / "a.rec"
    _write(path, recs)
    assert path.read_bytes() == b"".join(_ref_encode(r) for r in recs)
    assert _read_all(path) == recs


def test_hand_written_bytes_from_the_spec(tmp_path):
    # "ab": magic, length 2 with flag 0, the bytes, two padding zeros.
    assert recordio._encode_record(b"ab") == bytes.fromhex("0a23d7ce 02000000 6162 0000")
    # A record that is just the magic word: an empty first part (flag 1) and an empty last
    # part (flag 3); the reader puts the magic word back between them.
    assert recordio._encode_record(MAGIC_LE) == bytes.fromhex("0a23d7ce 00000020 0a23d7ce 00000060")
    # The magic word at an unaligned offset is data, not a split.
    assert recordio._encode_record(b"z" + MAGIC_LE) == (
        bytes.fromhex("0a23d7ce 05000000 7a") + MAGIC_LE + b"\0\0\0")
    # A file as MXNet would write it for [b"hello", b"", b"1234" + magic + b"5"].
    raw = bytes.fromhex(
        "0a23d7ce 05000000 68656c6c6f 000000"
        "0a23d7ce 00000000"
        "0a23d7ce 04000020 31323334 0a23d7ce 01000060 35 000000")
    path = tmp_path / "hand.rec"
    path.write_bytes(raw)
    assert _read_all(path) == [b"hello", b"", b"1234" + MAGIC_LE + b"5"]


def test_indexed_random_access_and_idx_file(tmp_path):
    recs = _records(1, 20)
    idx, rec = tmp_path / "d.idx", tmp_path / "d.rec"
    with MXIndexedRecordIO(str(idx), str(rec), "w") as w:
        positions = []
        for i, r in enumerate(recs):
            positions.append(w.tell())
            w.write_idx(i * 3, r)
        assert w.keys == [i * 3 for i in range(len(recs))]
    expect_pos = np.cumsum([0] + [len(_ref_encode(r)) for r in recs[:-1]]).tolist()
    assert positions == expect_pos
    assert idx.read_text() == "".join(f"{i * 3}\t{p}\n" for i, p in enumerate(expect_pos))
    r = MXIndexedRecordIO(str(idx), str(rec), "r")
    assert r.keys == [i * 3 for i in range(len(recs))]
    for k in np.random.RandomState(0).permutation(len(recs)):
        assert r.read_idx(int(k) * 3) == recs[k]
    r.seek(6)
    assert r.read() == recs[2] and r.read() == recs[3]  # read goes on after the seek
    with pytest.raises(MXNetError, match="key 7 is not in the index"):
        r.read_idx(7)
    r.close()
    s = MXIndexedRecordIO(str(idx), str(rec), "r", key_type=str)
    assert s.keys[:2] == ["0", "3"] and s.read_idx("3") == recs[1]


def test_reader_state_pickling_threads_reset(tmp_path):
    recs = [b"rec%d" % i * (i + 1) for i in range(30)]
    idx, rec = tmp_path / "p.idx", tmp_path / "p.rec"
    with MXIndexedRecordIO(str(idx), str(rec), "w") as w:
        for i, r in enumerate(recs):
            w.write_idx(i, r)
    r = MXIndexedRecordIO(str(idx), str(rec), "r")
    r.read(), r.read()
    r2 = pickle.loads(pickle.dumps(r))
    assert r2.read() == recs[2] and r2.keys == r.keys  # the position travels
    r.reset()
    assert r.read() == recs[0]
    results = {}

    def worker(t):
        for k in np.random.RandomState(t).randint(0, 30, 200):
            results.setdefault(t, []).append(r.read_idx(int(k)) == recs[k])

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert all(all(v) for v in results.values()) and len(results) == 4
    with MXRecordIO(str(tmp_path / "w.rec"), "w") as w:
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(w)


def test_writers_replace_the_file_at_close_and_reset_truncates(tmp_path):
    path = tmp_path / "g.rec"
    with MXRecordIO(str(path), "w") as w:
        w.write(b"old")
    w = MXRecordIO(str(path), "w")
    w.write(b"first")
    w._file.flush()
    r = MXRecordIO(str(path), "r")  # a reader meanwhile sees the previous file, whole
    assert r.read() == b"old" and r.read() is None
    w.close()
    assert MXRecordIO(str(path), "r").read() == b"first"
    w.reset()  # MXNet: resetting a writer truncates the file
    w.close()
    assert path.read_bytes() == b""
    assert sorted(os.listdir(tmp_path)) == ["g.rec"]


def test_an_error_while_writing_keeps_the_previous_record_and_index_files(tmp_path):
    rec, idx = str(tmp_path / "d.rec"), str(tmp_path / "d.idx")
    with MXIndexedRecordIO(idx, rec, "w") as w:
        w.write_idx(7, b"kept")
    before = (open(rec, "rb").read(), open(idx).read())
    with pytest.raises(RuntimeError, match="disk on fire"):
        with MXIndexedRecordIO(idx, rec, "w") as w:
            w.write_idx(1, b"lost")
            raise RuntimeError("disk on fire")
    assert (open(rec, "rb").read(), open(idx).read()) == before
    assert sorted(os.listdir(tmp_path)) == ["d.idx", "d.rec"]
    assert MXIndexedRecordIO(idx, rec, "r").read_idx(7) == b"kept"


def test_an_unwritable_directory_names_the_record_file(tmp_path):
    with pytest.raises(MXNetFileError, match=r"record file .*nodir.*x\.rec"):
        MXRecordIO(str(tmp_path / "nodir" / "x.rec"), "w")


def test_misuse_errors(tmp_path):
    path = str(tmp_path / "m.rec")
    with pytest.raises(ValueError, match="Invalid flag 'a'"):
        MXRecordIO(path, "a")
    w = MXRecordIO(path, "w")
    with pytest.raises(TypeError, match="Expect: bytes / Actual: str"):
        w.write("text")
    with pytest.raises(ValueError, match="opened with flag 'w'"):
        w.read()
    w.write(bytearray(b"ok"))
    w.close()
    with pytest.raises(ValueError, match="is closed"):
        w.write(b"x")
    r = MXRecordIO(path, "r")
    with pytest.raises(ValueError, match="opened with flag 'r'"):
        r.write(b"x")
    assert r.read() == b"ok"
    with pytest.raises(OSError, match="cannot open"):
        MXRecordIO(str(tmp_path / "missing.rec"), "r")


# -- truncated and corrupted files --------------------------------------------------------------
def test_every_truncation_is_an_error_never_a_wrong_record(tmp_path):
    recs = [b"abcdefg", MAGIC_LE + b"12", b"", b"xyz" * 5]
    full = b"".join(_ref_encode(r) for r in recs)
    ends = np.cumsum([len(_ref_encode(r)) for r in recs]).tolist()
    path = tmp_path / "t.rec"
    for cut in range(len(full)):
        path.write_bytes(full[:cut])
        r = MXRecordIO(str(path), "r")
        got = []
        complete = sum(e <= cut for e in ends)
        if cut in [0] + ends:
            while (rec := r.read()) is not None:
                got.append(rec)
            assert got == recs[:complete]
            continue
        with pytest.raises(RecordIOError, match=r"t\.rec.*truncated or corrupted at byte "
                                                r"offset \d+"):
            while (rec := r.read()) is not None:
                got.append(rec)
        assert got == recs[:complete]


def test_corrupted_bytes_and_bad_index(tmp_path):
    path = tmp_path / "c.rec"
    full = _ref_encode(b"hello") + _ref_encode(b"world!")
    bad = bytearray(full)
    bad[12] ^= 0xFF  # inside the first record's data: not detectable, by design of the format
    bad[16] ^= 0xFF  # the second record's magic word
    path.write_bytes(bytes(bad))
    r = MXRecordIO(str(path), "r")
    assert r.read() is not None
    with pytest.raises(RecordIOError, match="offset 16: expected the magic word 0xced7230a"):
        r.read()
    # a continuation part where a record must start
    path.write_bytes(MAGIC_LE + struct.pack("<I", (2 << 29) | 0))
    with pytest.raises(RecordIOError, match="continuation flag 2 out of sequence"):
        MXRecordIO(str(path), "r").read()
    # an index that points into the middle of a record, or past the end, or is malformed
    path.write_bytes(full)
    idx = tmp_path / "c.idx"
    idx.write_text("0\t0\n1\t4\n")
    r = MXIndexedRecordIO(str(idx), str(path), "r")
    assert r.read_idx(0) == b"hello"
    with pytest.raises(RecordIOError, match="offset 4"):
        r.read_idx(1)
    idx.write_text("0\t0\n1\t999\n")
    with pytest.raises(RecordIOError, match="line 2: offset 999 is outside"):
        MXIndexedRecordIO(str(idx), str(path), "r")
    idx.write_text("0 0\n")
    with pytest.raises(RecordIOError, match=r"c\.idx' line 1: expected 'key<TAB>offset'"):
        MXIndexedRecordIO(str(idx), str(path), "r")


# -- MXNet's image-record header ----------------------------------------------------------------
def test_pack_unpack_header_layout():
    s = recordio.pack(IRHeader(7, 3.5, 42, 1), b"payload")
    assert s == struct.pack("<IfQQ", 0, 3.5, 42, 1) + b"payload"  # flag reset to 0: one label
    h, body = recordio.unpack(s)
    assert h == IRHeader(0, 3.5, 42, 1) and body == b"payload"
    labels = [1.0, 2.5, -3.0]
    s = recordio.pack(IRHeader(0, labels, 9, 0), b"xy")
    assert s == struct.pack("<IfQQ", 3, 0.0, 9, 0) + np.float32(labels).tobytes() + b"xy"
    h, body = recordio.unpack(s)
    assert h.flag == 3 and h.id == 9 and body == b"xy"
    np.testing.assert_array_equal(h.label, np.float32(labels))
    with pytest.raises(ValueError, match="announces 3 labels"):
        recordio.unpack(struct.pack("<IfQQ", 3, 0.0, 1, 0) + b"\0" * 8)
    with pytest.raises(ValueError, match="24-byte header"):
        recordio.unpack(b"short")


def test_pack_img_unpack_img(tmp_path):
    pytest.importorskip("PIL", reason="pack_img needs Pillow (pip install mxplug[image])")
    rng = np.random.RandomState(0)
    bgr = rng.randint(0, 256, (9, 11, 3)).astype(np.uint8)
    s = recordio.pack_img(IRHeader(0, 5.0, 1, 0), bgr, quality=3, img_fmt=".png")
    h, img = recordio.unpack_img(s)
    assert h.label == 5.0
    np.testing.assert_array_equal(img, bgr)  # PNG is lossless, and the channel order kept
    from PIL import Image

    _, enc = recordio.unpack(s)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(enc))), bgr[:, :, ::-1])
    gray = recordio.unpack_img(s, iscolor=0)[1]
    assert gray.shape == (9, 11)
    np.testing.assert_allclose(gray, bgr[:, :, ::-1] @ [0.299, 0.587, 0.114], atol=1)
    smooth = np.tile(np.linspace(0, 255, 16, dtype=np.uint8), (16, 1))[:, :, None].repeat(3, 2)
    _, jpg = recordio.unpack_img(recordio.pack_img(IRHeader(0, 0, 0, 0), smooth, quality=95))
    assert jpg.shape == (16, 16, 3) and np.abs(jpg.astype(int) - smooth).max() <= 8
    g = recordio.unpack_img(recordio.pack_img(IRHeader(0, 0, 0, 0), bgr[:, :, 0], img_fmt=".png"))
    np.testing.assert_array_equal(g[1], bgr[:, :, 0])  # -1: a gray image stays 2-D
    with pytest.raises(TypeError, match="uint8"):
        recordio.pack_img(IRHeader(0, 0, 0, 0), bgr.astype(np.float32))
    with pytest.raises(ValueError, match="cannot decode"):
        recordio.unpack_img(recordio.pack(IRHeader(0, 0, 0, 0), b"not an image"))


def test_missing_pillow_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(MXNetError, match=r"pip install mxplug\[image\]"):
        recordio.pack_img(IRHeader(0, 0, 0, 0), np.zeros((2, 2, 3), np.uint8))


# -- RecordFileDataset --------------------------------------------------------------------------
def test_record_file_dataset(tmp_path):
    recs = _records(2, 10)
    with MXIndexedRecordIO(str(tmp_path / "r.idx"), str(tmp_path / "r.rec"), "w") as w:
        for i, r in enumerate(recs):
            w.write_idx(i, r)
    ds = RecordFileDataset(str(tmp_path / "r.rec"))
    assert len(ds) == len(recs) and [ds[i] for i in range(len(ds))] == recs
    assert pickle.loads(pickle.dumps(ds))[3] == recs[3]
    _write(tmp_path / "noidx.rec", recs)
    with pytest.raises(OSError, match="has no index"):
        RecordFileDataset(str(tmp_path / "noidx.rec"))
