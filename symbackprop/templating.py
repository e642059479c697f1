"""The Jinja environment every generated file is rendered with.

Contract: templates live in the top-level ``templates/`` folder, which the wheel installs as the
package ``symbackprop.templates``; :func:`environment` finds them in either place. Rendering is
strict (``StrictUndefined``: a typo fails loudly instead of rendering as empty text) and
whitespace-stable (``trim_blocks``, ``lstrip_blocks``, a trailing newline kept), so the same
inputs always give the same bytes. Templates loop and insert; every formula they insert was
printed by :mod:`symbackprop.printing`. Compiled templates are kept in the ``templates`` folder of
the user's cache (:mod:`symbackprop.cachedir`); Jinja checks each against its template's source.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from .cachedir import private_folder

if TYPE_CHECKING:
    import jinja2


def template_folder() -> Path:
    """The folder holding the templates: installed package data, else the source tree's."""
    package = Path(__file__).resolve().parent
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


@cache
def environment() -> jinja2.Environment:
    """The shared, strict Jinja environment (Jinja is imported here: finding the templates needs
    none of it). Compiled templates are kept in the user's cache folder, where caching is on."""
    import jinja2

    folder = private_folder("templates")
    return jinja2.Environment(
        bytecode_cache=None if folder is None else jinja2.FileSystemBytecodeCache(str(folder)),
        loader=jinja2.FileSystemLoader(template_folder()),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, **context: object) -> str:
    """Render the template named ``template`` with ``context``."""
    return environment().get_template(template).render(**context)
