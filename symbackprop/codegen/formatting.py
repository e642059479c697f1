"""The generated source's layout: formatted by ruff, comments wrapped at :data:`LINE_LIMIT`.

Contract: :func:`format_source` runs the ruff formatter isolated from any project's settings, so
that the same input gives the same bytes everywhere (the ruff release is pinned in the
dependencies); :func:`wrap_long_comments` breaks comments the formatter leaves alone, keeps the
rebuild command whole, and refuses a long docstring line (a template bug).
"""

from __future__ import annotations

import subprocess

from ..errors import GenerationError

#: Generated lines are at most this long (the formatter's line length).
LINE_LIMIT = 120
#: The start of the generated comment that holds the command rebuilding the file.
REBUILD_COMMENT = "# Rebuild: "


def format_source(source: str) -> str:
    """``source`` formatted by ruff, isolated from any project's configuration so that the same
    input gives the same bytes everywhere (the ruff release is pinned in the dependencies)."""
    try:
        from ruff.__main__ import find_ruff_bin

        binary = find_ruff_bin()
    except (ImportError, FileNotFoundError) as error:
        raise GenerationError(
            f"the ruff formatter is missing ({error}); install it with: pip install 'ruff>=0.17,<0.18'"
        ) from None
    command = [binary, "format", "--isolated", f"--line-length={LINE_LIMIT}", "--target-version=py311", "-"]
    result = subprocess.run(command, input=source, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise GenerationError(f"ruff could not format the generated module: {result.stderr.strip()}")
    return result.stdout


def wrap_long_comments(source: str, limit: int = LINE_LIMIT) -> str:
    """Comments longer than ``limit`` broken at their spaces (the formatter leaves comments alone),
    except the rebuild command, kept whole so that it can be pasted. A long docstring line is a
    template bug and raises."""
    lines: list[str] = []
    in_docstring = False
    for line in source.split("\n"):
        quotes = line.count('"""') % 2 == 1
        if len(line) <= limit:
            lines.append(line)
        elif in_docstring or quotes:
            raise GenerationError(f"a generated docstring line has {len(line)} characters: {line.strip()[:60]}...")
        elif line.startswith(REBUILD_COMMENT):
            # The command must survive a copy and paste into a shell, which ignores the noqa.
            lines.append(f"{line}  # noqa: E501")
        elif line.lstrip().startswith("#"):
            lines.extend(_wrap_comment(line, limit))
        else:
            lines.append(line)
        in_docstring ^= quotes
    return "\n".join(lines)


def _wrap_comment(line: str, limit: int) -> list[str]:
    indent = " " * (len(line) - len(line.lstrip()))
    words = line.strip()[1:].split(" ")
    wrapped, current = [], f"{indent}#"
    for word in words:
        if len(current) + len(word) + 1 > limit and current.strip() != "#":
            wrapped.append(current)
            current = f"{indent}#    "
        current += (" " if not current.endswith(" ") else "") + word
    wrapped.append(current)
    return wrapped
