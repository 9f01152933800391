"""``Block.save(prefix)`` / ``Block.load(prefix)``: MXNet 1.9.1's model files
``<prefix>-model.json`` (the block tree) and ``<prefix>-model.params`` (``save_parameters``).

The JSON has MXNet's layout: each block is an entry ``<class name lower-cased><n>`` (``n`` its
position in a depth-first walk) holding its name when saved (``orig_name``), whether it was
hybridized, and ``children``: ``{child's name: the key its parent stored it under}``, with the
children's entries nested inside. ``load`` walks a model built again by the same code in the same
order, gives every block and parameter the name it had when saved and re-keys the children as
they were — the parameters file is keyed by those structural names — then loads the values.

Where MXNet also stores a hybridized block's cached graph, mxplug stores only the flag and
hybridizes the block again on load: the graph is traced anew on its first call, from the same
code. So ``load`` also reads MXNet's ``-model.json`` files (their graphs are not needed).
"""

from __future__ import annotations

import json

from ..base import MXNetFileError, MXNetValueError, atomic_write

__all__ = ["save", "load"]


def _key(block, index):
    return f"{type(block).__name__.lower()}{index}"


def _describe(block, counter, entries):
    from .block import HybridBlock

    entry = {"orig_name": block.name,
             "hybridized": isinstance(block, HybridBlock) and bool(block._active),
             "children": {child.name: key for key, child in block._children.items()}}
    entries[_key(block, counter[0])] = entry
    for child in block._children.values():
        counter[0] += 1
        _describe(child, counter, entry)


def save(block, prefix) -> None:
    tree: dict = {}
    _describe(block, [0], tree)
    text = json.dumps(tree).encode()
    atomic_write(f"{prefix}-model.json", lambda f: f.write(text), "model structure file")
    block.save_parameters(f"{prefix}-model.params")


def _blocks(entries):
    return [k for k, v in entries.items() if isinstance(v, dict) and "orig_name" in v]


def _restore(block, counter, entries, fname):
    key = _key(block, counter[0])
    entry = entries.get(key)
    if entry is None:
        raise MXNetValueError(
            f"Block.load: {fname} has no entry {key!r} for the {type(block).__name__} "
            f"{block.name!r} (saved here: {', '.join(_blocks(entries)) or 'none'}); the model "
            f"must be built by the same code, in the same order, as when saved")
    old_prefix = block._params._prefix
    block._name = entry["orig_name"]
    params = block._params._params
    for name in list(params):  # as MXNet: re-keyed under the saved block name
        params[f"{block._name}_{name[len(old_prefix):]}"] = params.pop(name)
    for child in block._children.values():
        counter[0] += 1
        _restore(child, counter, entry, fname)
    saved_keys = entry["children"]
    children = list(block._children.values())
    for child in children:
        if child.name not in saved_keys:
            raise MXNetValueError(f"Block.load: {fname}: {block.name!r} had no child named "
                                  f"{child.name!r} when saved (saved: {sorted(saved_keys)})")
    block._children.clear()
    block._children.update((saved_keys[child.name], child) for child in children)
    if entry.get("hybridized", False):  # MXNet writes the flag for HybridBlocks only
        block.hybridize()


def load(block, prefix) -> None:
    fname = f"{prefix}-model.json"
    try:
        with open(fname) as f:
            tree = json.load(f)
    except OSError as e:
        raise MXNetFileError(f"Block.load: cannot read {fname!r}: {e.strerror or e}") from None
    except ValueError as e:
        raise MXNetFileError(f"Block.load: {fname!r} is not a model structure file: {e}"
                             ) from None
    _restore(block, [0], tree, fname)
    block.load_parameters(f"{prefix}-model.params")
