"""mx.contrib.text: token counting, vocabularies and token embeddings (values checked against
MXNet 1.9.1's documented behaviour)."""

import collections
import zipfile

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError
from mxplug.contrib import text
from mxplug.contrib.text.embedding import EmbeddingFileNotFoundError

Counter = collections.Counter


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf8")
    return str(path)


@pytest.fixture
def vec_file(tmp_path):
    """Three 3-d vectors, a duplicate of 'hello' and a fastText-style header, tab-separated."""
    return _write(tmp_path / "vecs.txt", ["2\t3", "hello\t1\t2\t3", "world\t4\t5\t6",
                                          "hello\t7\t8\t9", "Fish\t-1\t0.5\t2e-1"])


def test_contrib_exposes_text():
    assert mx.contrib.text is text
    assert {"utils", "vocab", "embedding"} <= set(dir(text))


# -- count_tokens_from_str ----------------------------------------------------------------------

def test_count_tokens_skips_empty_tokens_and_lowers():
    source = " The cat  sat \n\n the mat \n"
    assert text.utils.count_tokens_from_str(source) == Counter(
        {"The": 1, "cat": 1, "sat": 1, "the": 1, "mat": 1})
    assert text.utils.count_tokens_from_str(source, to_lower=True)["the"] == 2


def test_count_tokens_regex_delims_and_update_in_place():
    counter = Counter({"a": 5})
    out = text.utils.count_tokens_from_str("*a*B*|*b*|", r"\*", r"\|", to_lower=True,
                                           counter_to_update=counter)
    assert out is counter
    assert counter == Counter({"a": 6, "b": 2})


# -- Vocabulary ---------------------------------------------------------------------------------

def test_vocabulary_orders_by_frequency_then_token():
    counter = Counter({"z": 3, "b": 2, "a": 2, "c": 2, "q": 1})
    v = text.vocab.Vocabulary(counter)
    assert v.idx_to_token == ["<unk>", "z", "a", "b", "c", "q"]
    assert v.token_to_idx == {t: i for i, t in enumerate(v.idx_to_token)}
    assert len(v) == 6 and v.unknown_token == "<unk>" and v.reserved_tokens is None


def test_vocabulary_thresholds_and_reserved_tokens():
    counter = Counter({"z": 3, "b": 2, "a": 2, "c": 2, "q": 1})
    capped = text.vocab.Vocabulary(counter, most_freq_count=2, reserved_tokens=["<pad>", "c"])
    # reserved tokens come first and do not count against most_freq_count
    assert capped.idx_to_token == ["<unk>", "<pad>", "c", "z", "a"]
    assert capped.reserved_tokens == ["<pad>", "c"]
    frequent = text.vocab.Vocabulary(counter, min_freq=3, unknown_token="a")
    assert frequent.idx_to_token == ["a", "z"]
    assert len(text.vocab.Vocabulary(counter, most_freq_count=0)) == 1


def test_vocabulary_tuple_tokens_and_conversions():
    v = text.vocab.Vocabulary(Counter([("x", 1), ("x", 1), ("y", 2)]), unknown_token=("?",))
    assert v.to_indices(("x", 1)) == 1  # a tuple is one token, only a list is several
    assert v.to_indices([("y", 2), ("nope",)]) == [2, 0]
    assert v.to_tokens([2, 0]) == [("y", 2), ("?",)]
    assert v.to_tokens(1) == ("x", 1)


@pytest.mark.parametrize("bad", [len, 1.0, -1, True])
def test_vocabulary_to_tokens_rejects_bad_indices(bad):
    v = text.vocab.Vocabulary(Counter(["a", "b"]))
    with pytest.raises(ValueError, match="invalid"):
        v.to_tokens(3 if bad is len else bad)


@pytest.mark.parametrize("kwargs, match", [
    ({"min_freq": 0}, "min_freq"),
    ({"reserved_tokens": ["b", "b"]}, "duplicates"),
    ({"reserved_tokens": ["<unk>"]}, "unknown_token"),
])
def test_vocabulary_bad_arguments_are_assertion_errors(kwargs, match):
    with pytest.raises(AssertionError, match=match) as info:
        text.vocab.Vocabulary(Counter(["a", "b"]), **kwargs)
    assert isinstance(info.value, MXNetError)


def test_vocabulary_needs_a_counter():
    with pytest.raises(AssertionError, match="collections.Counter"):
        text.vocab.Vocabulary({"a": 1})


# -- CustomEmbedding ----------------------------------------------------------------------------

def test_custom_embedding_loads_file(vec_file):
    with pytest.warns(UserWarning) as record:
        e = text.embedding.CustomEmbedding(vec_file, "\t")
    messages = " ".join(str(w.message) for w in record)
    assert "header" in messages and "duplicate" in messages and "line 4" in messages
    assert e.idx_to_token == ["<unk>", "hello", "world", "Fish"]
    assert e.vec_len == 3 and len(e) == 4
    assert isinstance(e.idx_to_vec, mx.nd.NDArray) and e.idx_to_vec.dtype == np.float32
    np.testing.assert_allclose(e.idx_to_vec.asnumpy(),
                               [[0, 0, 0], [1, 2, 3], [4, 5, 6], [-1, 0.5, 0.2]], rtol=1e-6)


def test_custom_embedding_lookups(vec_file):
    with pytest.warns(UserWarning):
        e = text.embedding.CustomEmbedding(vec_file, "\t", init_unknown_vec=mx.nd.ones)
    single = e.get_vecs_by_tokens("world")
    assert single.shape == (3,)
    np.testing.assert_allclose(single.asnumpy(), [4, 5, 6])
    assert e.get_vecs_by_tokens(["world"]).shape == (1, 3)
    np.testing.assert_allclose(e.get_vecs_by_tokens(["HELLO", "fish", "zebra"]).asnumpy(),
                               [[1, 1, 1], [1, 1, 1], [1, 1, 1]])
    np.testing.assert_allclose(
        e.get_vecs_by_tokens(["HELLO", "fish", "zebra"], lower_case_backup=True).asnumpy(),
        [[1, 2, 3], [1, 1, 1], [1, 1, 1]])  # 'fish' lower-cased is still not 'Fish'


def test_custom_embedding_unknown_token_in_file(tmp_path):
    path = _write(tmp_path / "e.txt", ["a 1 2", "<oov> 9 8", "<unk> 5 5"])
    e = text.embedding.CustomEmbedding(path, unknown_token="<oov>", init_unknown_vec=mx.nd.ones)
    assert e.idx_to_token == ["<oov>", "a", "<unk>"]  # '<unk>' is an ordinary token here
    np.testing.assert_allclose(e.get_vecs_by_tokens("never-seen").asnumpy(), [9, 8])


def test_custom_embedding_reserved_tokens_get_rows(tmp_path):
    path = _write(tmp_path / "e.txt", ["a 1 2", "<pad> 3 3", "b 4 4"])
    e = text.embedding.CustomEmbedding(path, reserved_tokens=["<pad>", "<eos>"])
    assert e.idx_to_token == ["<unk>", "<pad>", "<eos>", "a", "b"]
    np.testing.assert_allclose(e.idx_to_vec.asnumpy(),
                               [[0, 0], [3, 3], [0, 0], [1, 2], [4, 4]])


def test_custom_embedding_with_vocabulary(tmp_path):
    path = _write(tmp_path / "e.txt", ["a 1 2", "b 3 4", "c 5 6"])
    v = text.vocab.Vocabulary(Counter(["c", "c", "z", "a"]), reserved_tokens=["<pad>"])
    e = text.embedding.CustomEmbedding(path, init_unknown_vec=mx.nd.ones, vocabulary=v)
    assert e.idx_to_token == ["<unk>", "<pad>", "c", "a", "z"]
    assert e.reserved_tokens == ["<pad>"] and e.token_to_idx["z"] == 4
    np.testing.assert_allclose(e.idx_to_vec.asnumpy(), [[1, 1], [1, 1], [5, 6], [1, 2], [1, 1]])


@pytest.mark.parametrize("lines, error, match", [
    (["a 1 2", "b"], AssertionError, "line 2"),
    (["a 1 2", "b 1 2 3"], AssertionError, "length 3"),
    (["a 1 2", "b 1 x"], ValueError, "line 2"),
    (["5 300"], AssertionError, "no token vectors"),
])
@pytest.mark.filterwarnings("ignore:.*header")
def test_custom_embedding_malformed_files(tmp_path, lines, error, match):
    path = _write(tmp_path / "bad.txt", lines)
    with pytest.raises(error, match=match):
        text.embedding.CustomEmbedding(path)


def test_custom_embedding_missing_file(tmp_path):
    with pytest.raises(ValueError, match="valid path"):
        text.embedding.CustomEmbedding(str(tmp_path / "nope.txt"))


def test_update_token_vectors(tmp_path):
    e = text.embedding.CustomEmbedding(_write(tmp_path / "e.txt", ["a 1 2", "b 3 4"]))
    e.update_token_vectors("a", mx.nd.array([7, 7]))
    e.update_token_vectors(["b", "<unk>"], mx.nd.array([[8, 8], [9, 9]]))
    e.update_token_vectors(["a"], mx.nd.array([[6, 5]]))
    np.testing.assert_allclose(e.idx_to_vec.asnumpy(), [[9, 9], [6, 5], [8, 8]])
    with pytest.raises(ValueError, match="Token zz is unknown"):
        e.update_token_vectors("zz", mx.nd.array([1, 1]))
    for tokens, vecs in [("a", mx.nd.array([1, 1, 1])), (["a", "b"], mx.nd.array([1, 1])),
                         ("a", np.array([1.0, 1.0]))]:
        with pytest.raises(AssertionError):
            e.update_token_vectors(tokens, vecs)
    np.testing.assert_allclose(e.idx_to_vec.asnumpy(), [[9, 9], [6, 5], [8, 8]])


# -- CompositeEmbedding -------------------------------------------------------------------------

def test_composite_embedding_concatenates(tmp_path):
    e1 = text.embedding.CustomEmbedding(_write(tmp_path / "1.txt", ["a 1 1", "b 2 2"]),
                                        init_unknown_vec=mx.nd.ones)
    e2 = text.embedding.CustomEmbedding(_write(tmp_path / "2.txt",
                                               ["<unk> 9 9", "b 5 5", "c 6 6"]))
    v = text.vocab.Vocabulary(Counter(["c", "c", "b", "z"]), unknown_token="b")
    ce = text.embedding.CompositeEmbedding(v, [e1, e2])
    assert ce.idx_to_token == ["b", "c", "z"] and ce.vec_len == 4
    # row 0 holds each embedding's unknown vector, even though 'b' is in both files
    np.testing.assert_allclose(ce.idx_to_vec.asnumpy(),
                               [[1, 1, 9, 9], [1, 1, 6, 6], [1, 1, 9, 9]])
    single = text.embedding.CompositeEmbedding(v, e1)
    assert single.vec_len == 2
    with pytest.raises(AssertionError):
        text.embedding.CompositeEmbedding(v, [e1, "e2"])
    with pytest.raises(AssertionError):
        text.embedding.CompositeEmbedding(["b"], e1)


# -- registry and pre-trained embeddings --------------------------------------------------------

def test_pretrained_file_names():
    names = text.embedding.get_pretrained_file_names()
    assert len(names["glove"]) == 10 and len(names["fasttext"]) == 327
    assert names["glove"][1] == "glove.6B.50d.txt"
    assert text.embedding.get_pretrained_file_names("fasttext")[0] == "crawl-300d-2M.vec"
    with pytest.raises(KeyError, match="Cannot find `embedding_name` GloVe"):
        text.embedding.get_pretrained_file_names("GloVe")


def test_create_and_register(tmp_path):
    with pytest.raises(AssertionError, match="not registered"):
        text.embedding.create("no-such-embedding")
    with pytest.raises(AssertionError):
        text.embedding.register(dict)

    @text.embedding.register
    class TinyEmbed(text.embedding._TokenEmbedding):
        def __init__(self, path, **kwargs):
            super().__init__(**kwargs)
            self._load_embedding(path, ",", mx.nd.zeros)

    e = text.embedding.create("TINYembed", path=_write(tmp_path / "t.csv", ["x,1,2"]))
    assert type(e) is TinyEmbed and e.idx_to_token == ["<unk>", "x"]


def test_glove_reads_local_file(tmp_path):
    _write(tmp_path / "glove" / "glove.6B.50d.txt", ["the 1 2", "of 3 4"])
    e = text.embedding.create("GloVe", pretrained_file_name="glove.6B.50d.txt",
                              embedding_root=str(tmp_path), unknown_token="<oov>")
    assert e.idx_to_token == ["<oov>", "the", "of"]
    np.testing.assert_allclose(e.get_vecs_by_tokens("of").asnumpy(), [3, 4])
    with pytest.raises(KeyError, match="Valid pretrained files"):
        text.embedding.GloVe("glove.7B.50d.txt", embedding_root=str(tmp_path))


def test_fasttext_default_root_extracts_archive(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    folder = tmp_path / "embeddings" / "fasttext"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "wiki.simple.zip", "w") as zf:
        zf.writestr("wiki.simple.vec", "2 2\nthe 1 2\nof 3 4\n")
    v = text.vocab.Vocabulary(Counter(["of", "x"]))
    with pytest.warns(UserWarning, match="header"):
        e = text.embedding.FastText(vocabulary=v)
    assert (folder / "wiki.simple.vec").read_text() == "2 2\nthe 1 2\nof 3 4\n"
    assert e.idx_to_token == ["<unk>", "of", "x"]
    np.testing.assert_allclose(e.idx_to_vec.asnumpy(), [[0, 0], [3, 4], [0, 0]])


def test_missing_pretrained_file_says_where_to_put_it(tmp_path):
    with pytest.raises(EmbeddingFileNotFoundError) as info:
        text.embedding.GloVe("glove.twitter.27B.25d.txt", embedding_root=str(tmp_path))
    message = str(info.value)
    assert "does not download" in message
    assert str(tmp_path / "glove" / "glove.twitter.27B.25d.txt") in message
    assert "glove.twitter.27B.zip" in message
    assert isinstance(info.value, FileNotFoundError)
