"""Reading YAML while keeping, for every value, where it was written.

PyYAML's composer gives a tree of nodes that carry their start mark
(line/column); we walk that tree ourselves instead of constructing plain
Python objects, so that every error can name its line and column.
"""

import yaml

from errors import PolicyError, Source

_scalars = yaml.constructor.SafeConstructor()


class Lit(int):
    """An integer that remembers how it was written (0x3f8, 1000), so the
    generated C can spell it the same way as the policy."""

    def __new__(cls, value, text):
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


class Node:
    """A YAML node with its position: .value is a Python str/int/bool/None,
    a list of Node, or a dict of str -> Node (keys in file order)."""

    def __init__(self, value, src, keys=None):
        self.value = value
        self.src = src
        self.keys = keys or {}   # for mappings: key -> Source of the key itself

    def kind(self):
        v = self.value
        if isinstance(v, dict):
            return "mapping"
        if isinstance(v, list):
            return "list"
        if isinstance(v, bool):
            return "boolean"
        if isinstance(v, int):
            return "integer"
        if isinstance(v, str):
            return "string"
        if v is None:
            return "nothing"
        return type(v).__name__


def _src(path, mark):
    return Source(path, mark.line + 1, mark.column + 1)


def _convert(path, node):
    src = _src(path, node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        value = _scalars.construct_object(node)
        if type(value) is int:
            value = Lit(value, node.value)
        return Node(value, src)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(path, n) for n in node.value], src)
    # A mapping: keys must be plain names or numbers, each written once.
    value, keys = {}, {}
    for knode, vnode in node.value:
        key = _convert(path, knode)
        if not isinstance(key.value, (str, int)) or isinstance(key.value, bool):
            raise PolicyError(key.src, f"expected a name as key, got {key.kind()}")
        if key.value in value:
            raise PolicyError(key.src, f'duplicate key "{key.value}" '
                                       f"(first at line {keys[key.value].line})")
        value[key.value] = _convert(path, vnode)
        keys[key.value] = key.src
    return Node(value, src, keys)


def load(path, text):
    """Parse text (the contents of path) into a Node; YAML errors become
    PolicyError at the place the parser stopped."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = e.problem or str(e)
        raise PolicyError(_src(path, mark), f"YAML syntax: {problem}") from None
    if root is None:
        raise PolicyError(Source(path, 1, 1), "empty policy: expected a mapping with "
                                             '"description" and "exits"')
    return _convert(path, root)
