"""The house plan holds: tasks are asked of the registry, the import graph has no cycle, and
nothing in the package or the tests reads outside the repository."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pluralign"


def modules() -> dict[str, Path]:
    return {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
            for p in PACKAGE.rglob("*.py")}


def test_no_task_name_is_compared_outside_the_registries():
    from pluralign.tasks import TASKS

    names = "|".join(TASKS)
    compared = re.compile(rf"""(==|!=|\bin)\s*\(?["']({names})["']|["']({names})["']\s*(==|!=)""")
    allowed = {PACKAGE / "tasks.py", PACKAGE / "rewards" / "registry.py"}
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in PACKAGE.rglob("*.py") if p not in allowed
             for n, line in enumerate(p.read_text().splitlines(), 1) if compared.search(line)]
    assert not found, "ask pluralign.tasks instead:\n" + "\n".join(found)


def test_the_import_graph_has_no_cycle():
    mods = modules()

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):  # lazy imports inside functions count too
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pluralign"):
                for alias in node.names:
                    target = owner(f"{node.module}.{alias.name}") or owner(node.module)
                    if target and target != name:
                        graph[name].add(target)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path + [nxt]
            if nxt not in state and (cycle := visit(nxt, path + [nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [start])
            assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_nothing_reads_outside_the_repository():
    offenders = [str(p.relative_to(ROOT)) for folder in ("pluralign", "tests") for p in (ROOT / folder).rglob("*.py")
                 if "../shared" in p.read_text() or '"shared"' in p.read_text()]
    assert offenders == [p for p in offenders if p == "tests/test_structure.py"]


def test_every_subpackage_and_the_recipes_ship_in_the_wheel():
    """pyproject lists the packages by hand (recipes/ and configs/ are mapped into the package):
    a new subpackage must be listed too, or an installed pluralign would lack it."""
    import tomllib

    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")}
    assert found | {"pluralign.recipes", "pluralign.configs"} == set(setup["packages"])
    assert setup["package-dir"] == {"pluralign.recipes": "recipes", "pluralign.configs": "configs"}
    from pluralign.resources import configs_folder, recipes_folder

    assert recipes_folder() == ROOT / "recipes" and (configs_folder() / "accelerate" / "zero3.yaml").is_file()


def test_every_data_file_of_the_package_ships_in_the_wheel():
    """A file the package reads at run time (heads, rubrics, suites) must match a package-data glob, or an
    installed pluralign (not a checkout) fails on it."""
    import fnmatch

    import tomllib

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["pluralign"]
    package = ROOT / "pluralign"
    data = [p.relative_to(package).as_posix() for p in package.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    unshipped = [f for f in data if not any(fnmatch.fnmatch(f, g) for g in globs)]
    assert data and not unshipped, f"add these to [tool.setuptools.package-data] in pyproject.toml: {unshipped}"
