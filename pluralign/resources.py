"""The recipes and launch configs that ship with pluralign, found by name.

In a checkout they are the repository's `recipes/` and `configs/` folders; in an installed
package the same folders are package data (`pluralign/recipes`, `pluralign/configs`, see
pyproject.toml). `pluralign train cpu/grpo` runs `recipes/cpu/grpo.yaml` from either.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _folder(name: str) -> Path:
    """`recipes` or `configs`: inside the installed package, else in the checkout around it."""
    packaged = PACKAGE / name
    return packaged if packaged.is_dir() else PACKAGE.parent / name


def recipes_folder() -> Path:
    return _folder("recipes")


def configs_folder() -> Path:
    return _folder("configs")


def shipped_recipes() -> list[str]:
    """Every shipped recipe by name (`cpu/grpo`, `llama3-8b-lora-zero3/summarize-pluralism`, ...)."""
    root = recipes_folder()
    return sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.glob("*/*.yaml"))


def find_recipe(name: str | Path) -> Path:
    """A recipe file as given, else a shipped recipe by name (with or without `.yaml`); the path
    as given when neither exists (loading it then says so)."""
    path = Path(name)
    if path.is_file():
        return path
    stem = str(name).removeprefix("recipes/").removesuffix(".yaml").removesuffix(".yml")
    shipped = recipes_folder() / f"{stem}.yaml"
    return shipped if shipped.is_file() else path
