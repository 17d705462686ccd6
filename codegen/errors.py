"""Errors that point at a place in a policy file.

Every mistake in a policy is reported as one line, `file:line:col: message`,
the form compilers use, so that editors can jump to it.
"""

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """Where something was written: the policy file (as the user named it),
    1-based line and column."""
    file: str
    line: int
    col: int

    def __str__(self):
        return f"{self.file}:{self.line}:{self.col}"

    @property
    def short(self):
        """file:line, the form used in comments of the generated C."""
        return f"{self.file}:{self.line}"


# Line breaks a message may quote (an unknown action "negat\n"), written
# as escapes so that the message stays one line.
_ONE_LINE = str.maketrans({"\n": "\\n", "\r": "\\r", "\u2028": "\\u2028", "\u2029": "\\u2029"})


class PolicyError(Exception):
    def __init__(self, src, message):
        message = message.translate(_ONE_LINE)
        super().__init__(f"{src}: {message}")
        self.src = src
        self.message = message


def did_you_mean(word, choices):
    """' (did you mean "x"?)' when a choice is close to word, else ''."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def unknown(src, what, word, choices):
    """The error for a name that is not one of choices."""
    return PolicyError(src, f'unknown {what} "{word}"{did_you_mean(word, choices)}; '
                            f'expected one of: {", ".join(sorted(choices))}')
