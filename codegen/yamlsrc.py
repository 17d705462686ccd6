"""Reading YAML while keeping, for every value, where it was written.

PyYAML's composer gives a tree of nodes that carry their start mark
(line/column); we walk that tree ourselves instead of constructing plain
Python objects, so that every error can name its line and column.

Whatever bytes a policy file holds, load() either returns a Node or raises
one PolicyError: bytes that are not UTF-8, invisible control characters,
YAML features a policy has no use for (anchors, aliases, tags, several
documents) and absurd nesting are refused here, before PyYAML or Python
could stop with a traceback.
"""

import re

import yaml

from errors import PolicyError, Source

_scalars = yaml.constructor.SafeConstructor()
# The types a plain scalar may have in a policy. YAML would also read
# 2024-01-01 as a date, "=" and "<<" as special values: in a policy they stay
# strings, like any other word.
_TYPED = {f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null")}

# Deeper than any sensible policy (they need about 5 levels), and shallow
# enough that neither PyYAML's composer nor _convert, both recursive, can
# exhaust Python's stack.
MAX_DEPTH = 50

# Longer than any 64-bit number, even 0b and 64 digits with underscores.
MAX_INT_CHARS = 100

# Characters a policy may not hold. Control characters other than tab and
# line ends are invisible in an editor, and YAML would even count U+0085 as a
# line break. U+FFFE and U+FFFF are noncharacters, which YAML refuses, and
# a surrogate alone (only an escape such as "\ud800" can write one) cannot
# be written out as UTF-8.
_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")

# The short names of the control characters U+0000 to U+001F.
_C0_NAMES = ("NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI "
             "DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US").split()

# Where YAML ends a line: PyYAML counts lines this way, so the positions
# found here agree with those of its errors.
_LINE_BREAK = re.compile("\r\n|[\r\n\u2028\u2029]")


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

    def __init__(self, value, src, keys=None, text_src=None):
        self.value = value
        self.src = src
        self.keys = keys or {}   # for mappings: key -> Source of the key itself
        # For a string whose lines are the file's (one line, or a literal
        # block `|`): where its text starts, its first line's indentation
        # counted in (see _text_src). None for any other string.
        self.text_src = text_src

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


# ---- bytes -> text -----------------------------------------------------------

def _describe(ch):
    """'control character U+0000 (NUL)': how messages name a character that
    _BAD_CHAR matched (and nobody can see)."""
    code = ord(ch)
    if code < 0x20:
        return f"control character U+{code:04X} ({_C0_NAMES[code]})"
    if code == 0x7F:
        return "control character U+007F (DEL)"
    if code <= 0x9F:
        return f"control character U+{code:04X}"
    if code >= 0xFFFE:
        return f"noncharacter U+{code:04X}"
    return f"surrogate U+{code:04X}"


def _position(path, text, index):
    """The Source of text[index], counting lines and columns as PyYAML does."""
    line, start = 1, 0
    for m in _LINE_BREAK.finditer(text, 0, index):
        line, start = line + 1, m.end()
    return Source(path, line, index - start + 1)


def _check_chars(path, text):
    bad = _BAD_CHAR.search(text)
    if bad:
        raise PolicyError(_position(path, text, bad.start()), _describe(bad.group()))


def decode(path, data):
    """The text of a policy file from its bytes. The first problem in the
    file is reported, whether it is a byte that is not UTF-8 or a character
    that has no place in a policy (so a binary file fails at its start)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        good = data[:e.start].decode("utf-8")
        _check_chars(path, good)
        raise PolicyError(_position(path, good, len(good)),
                          f"not UTF-8: byte 0x{data[e.start]:02x}") from None
    _check_chars(path, text)
    # A byte order mark says "UTF-8" to some editors; it is not part of the text.
    return text.removeprefix("\ufeff")


# ---- text -> PyYAML's nodes --------------------------------------------------

_NO_ALIASES = ('anchors and aliases are not allowed in a policy (write the value out, '
               'or share rules with "include")')


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing what a policy has no use for before it
    is composed into nodes:

    - anchors and aliases (&x, *x): an alias can refer to the node that holds
      it, a tree that never ends;
    - tags (!foo, !!binary): a value's type is how it is written;
    - nesting deeper than MAX_DEPTH."""

    def __init__(self, path, text):
        super().__init__(text)
        self.path = path
        self.depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        src = _src(self.path, event.start_mark)
        if isinstance(event, yaml.AliasEvent):
            raise PolicyError(src, f'alias "*{event.anchor}": {_NO_ALIASES}')
        if event.anchor is not None:
            raise PolicyError(src, f'anchor "&{event.anchor}": {_NO_ALIASES}')
        if event.tag is not None:
            tag = event.tag.replace("tag:yaml.org,2002:", "!!")    # as it was written
            raise PolicyError(src, f'tag "{tag}": YAML tags are not allowed in a policy '
                                   "(a value's type is how it is written)")
        if self.depth == MAX_DEPTH:
            raise PolicyError(src, f"nested too deeply: a policy has at most {MAX_DEPTH} "
                                   "levels of lists and mappings")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _single_document(loader):
    """The root node of the stream's only document, or None if it has none.
    (PyYAML's get_single_node(), with an error that says what is wrong.)"""
    loader.get_event()                              # the stream's start
    root = None
    if not loader.check_event(yaml.StreamEndEvent):
        root = loader.compose_document()
    if not loader.check_event(yaml.StreamEndEvent):
        src = _src(loader.path, loader.peek_event().start_mark)
        raise PolicyError(src, "a second YAML document: a policy is one document")
    return root


def _compose(path, text):
    """The root node of text (None if empty); YAML errors become
    PolicyError at the place the parser stopped."""
    loader = _Loader(path, text)
    try:
        return _single_document(loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        src = _src(path, mark) if mark else Source(path, 1, 1)
        problem = e.problem or e.context or "not valid YAML"
        raise PolicyError(src, f"YAML syntax: {problem}") from None
    finally:
        loader.dispose()


# ---- PyYAML's nodes -> Node ----------------------------------------------------

def _scalar(node, src):
    """The Python value of a scalar node."""
    if node.tag not in _TYPED:
        # A quoted string's escapes ("\0", "\x1b") can write what the file
        # itself may not hold; they may not either.
        bad = _BAD_CHAR.search(node.value)
        if bad:
            raise PolicyError(src, f"string holds {_describe(bad.group())}")
        return node.value
    # Python refuses to convert decimal integers of more than 4300 digits to
    # and from text, and messages print numbers: long ones stop here.
    if node.tag.endswith(":int") and len(node.value) > MAX_INT_CHARS:
        raise PolicyError(src, f"integer too long ({len(node.value)} characters): "
                               "a policy's numbers fit in 64 bits")
    value = _scalars.construct_object(node)
    return Lit(value, node.value) if type(value) is int else value


def _text_src(path, node, value):
    """Where the text of the string `value` starts in the file, such that
    its line i is the file's line text_src.line + i and its columns are
    the file's from text_src.col: for the C code of a policy (`code:`),
    whose compiler errors must name the YAML file's line and column. A
    literal block (`|`) keeps the file's lines and strips the same
    indentation from each; a plain or quoted string on one line is the
    file's line. Folded and multi-line flow strings join lines: None."""
    start, end = node.start_mark, node.end_mark
    if node.style == "|" and start.buffer is not None:
        raw = _LINE_BREAK.split(start.buffer)[start.line + 1:]
        lines = value.split("\n")
        first = next((i for i, l in enumerate(lines) if l.strip()), 0)
        if first >= len(raw):
            return None
        lead = lambda s: len(s) - len(s.lstrip(" "))
        indent = lead(raw[first]) - lead(lines[first])
        return Source(path, start.line + 2, indent + 1)
    if node.style in (None, "'", '"') and start.line == end.line and "\n" not in value:
        return Source(path, start.line + 1, start.column + 1 + (node.style is not None))
    return None


def _convert(path, node):
    src = _src(path, node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        value = _scalar(node, src)
        text = _text_src(path, node, value) if isinstance(value, str) else None
        return Node(value, src, text_src=text)
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


def load(path, data):
    """Parse data, the bytes of the file at path, into a Node."""
    root = _compose(path, decode(path, data))
    if root is None:
        raise PolicyError(Source(path, 1, 1), "empty policy: expected a mapping with "
                                             '"description" and "exits"')
    return _convert(path, root)
