"""The Jinja environment every generated file is rendered with.

Contract: templates live in the top-level ``templates/`` folder, which the wheel installs as the
package ``symbackprop.templates``; :func:`environment` finds them in either place. Rendering is
strict (``StrictUndefined``: a typo fails loudly instead of rendering as empty text) and
whitespace-stable (``trim_blocks``, ``lstrip_blocks``, a trailing newline kept), so the same
inputs always give the same bytes. Templates loop and insert; every formula they insert was
printed by :mod:`symbackprop.printing`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

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
    none of it)."""
    import jinja2

    return jinja2.Environment(
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
