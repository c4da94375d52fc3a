"""The import contract (docs/ARCHITECTURE.md): layers point one way (bot -> storage -> core),
core imports no framework, handlers and dialogs reach storage only through core services, and
no module is part of an import cycle.

The contracts live in pyproject.toml ([tool.importlinter]) and ``lint-imports`` checks them.
The tree must keep them; and so that a green run means something, the very same contracts are
run on small synthetic trees that break one rule each, and must fail on exactly that rule. The
cycle check is also done module by module with grimp, so a failure names the modules in the
circle."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "core", "storage", "web")
CONTRACTS = {  # id -> type: every rule of the contract, so that none is dropped quietly
    "layers": "layers",
    "core-pure": "forbidden",
    "front-through-services": "forbidden",
    "cli-without-handlers": "forbidden",
    "acyclic": "acyclic_siblings",
}


# -- helpers -----------------------------------------------------------------------------------


def find_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every import cycle, one per strongly connected component (Tarjan, iteratively), each
    as a closed path ``[a, b, ..., a]`` through the component's first module, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            module, position = work.pop()
            if position == 0:
                index[module] = low[module] = len(index)
                stack.append(module)
                on_stack.add(module)
            targets = edges.get(module, [])
            if position < len(targets):
                work.append((module, position + 1))
                target = targets[position]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            if work:  # back in the caller: pass the low link up
                caller = work[-1][0]
                low[caller] = min(low[caller], low[module])
            if low[module] == index[module]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                if len(component) > 1 or module in edges.get(module, []):
                    components.append(component)
    return sorted(_cycle_through(min(c), c, edges) for c in components)


def _cycle_through(first: str, component: set[str], edges: Mapping[str, Iterable[str]]) -> list[str]:
    """The shortest path from ``first`` back to itself inside ``component`` (breadth first)."""
    came_from: dict[str, str] = {}
    frontier = [first]
    while frontier:
        following: list[str] = []
        for module in frontier:
            for target in edges[module]:
                if target not in component:
                    continue
                if target == first:
                    path = [module]
                    while path[-1] != first:
                        path.append(came_from[path[-1]])
                    return [first, *reversed(path[:-1]), first] if module != first else [first, first]
                if target not in came_from:
                    came_from[target] = module
                    following.append(target)
        frontier = following
    raise AssertionError(f"{first} is in no cycle of {sorted(component)}")


def describe_cycles(cycles: list[list[str]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in cycles)


def lint_imports(cwd: Path, *, pythonpath: Path | None = None) -> tuple[int, str]:
    """Run ``lint-imports`` in a fresh interpreter (import-linter configures global state; a
    synthetic tree must not meet this process's modules) with the pyproject.toml in ``cwd``."""
    # wide, so that no contract's name is wrapped in the report
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "200"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    script = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    done = subprocess.run(
        [sys.executable, "-c", script, "--no-cache", "--no-logo", "pyproject.toml"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def verdicts(output: str) -> dict[str, str]:
    """Contract name -> KEPT or BROKEN, from lint-imports' report."""
    # a contract with ignored imports says so after its verdict: "KEPT (1 ignored import)"
    return dict(
        re.findall(r"^(.+?) (KEPT|BROKEN)(?: \(\d+ ignored imports?\))?$", output, flags=re.MULTILINE)
    )


def contract_names() -> dict[str, str]:
    """Contract id -> name, from pyproject.toml."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c["name"] for c in config["tool"]["importlinter"]["contracts"]}


def write_tree(root: Path, files: Mapping[str, str]) -> None:
    """Modules at their paths (``bot/handlers/start.py``), with every package's __init__.py."""
    for relative, source in files.items():
        path = root / relative
        for package in [p for p in path.parents if p != root and root in p.parents]:
            package.mkdir(parents=True, exist_ok=True)
            (package / "__init__.py").touch()
        path.write_text(source, encoding="utf-8")


# -- the tree keeps the contract ---------------------------------------------------------------


def test_pyproject_states_every_rule_of_the_import_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    assert sorted(config["root_packages"]) == sorted(PACKAGES)
    assert config["include_external_packages"] is True  # or "core imports no telegram" says nothing
    contracts = {c["id"]: c for c in config["contracts"]}
    assert {k: c["type"] for k, c in contracts.items()} == CONTRACTS
    assert contracts["layers"]["layers"] == ["web", "bot", "storage", "core"]
    # the dashboard's command line is the one door from bot to web
    assert contracts["layers"]["ignore_imports"] == ["bot.cli.web -> web.app"]
    assert {"bot.cli.web", "web"} <= set(contracts["cli-without-handlers"]["source_modules"])
    assert set(contracts["core-pure"]["forbidden_modules"]) >= {"telegram", "sqlalchemy", "alembic"}
    assert contracts["core-pure"]["source_modules"] == ["core"]
    assert set(contracts["front-through-services"]["source_modules"]) == {"bot.handlers", "bot.dialogs"}
    assert contracts["front-through-services"]["forbidden_modules"] == ["storage"]
    assert sorted(contracts["acyclic"]["ancestors"]) == sorted(PACKAGES)


def test_the_tree_keeps_the_import_contract() -> None:
    code, output = lint_imports(ROOT)
    assert verdicts(output) == {name: "KEPT" for name in contract_names().values()}, output
    assert code == 0, output


def test_no_module_of_bot_core_or_storage_is_in_an_import_cycle() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert {"bot.sender", "bot.context", "core.rules", "storage.uow"} <= graph.modules  # the real tree
    cycles = find_cycles(graph)
    assert cycles == [], "import cycles (break each one):\n" + describe_cycles(cycles)


# -- the same contract bites on trees that break it ----------------------------------------------

# A tree in the house's shape that keeps every rule: the front end calls core services and
# builds storage in its wiring; storage uses sqlalchemy and core; core imports only itself.
KEEPING_TREE = {
    "bot/app.py": "import bot.handlers.start\nimport bot.dialogs.steps\nimport storage.repo\n",
    "bot/context.py": "import bot.sender\nimport core.services\n",
    "bot/sender.py": "import core.outbox\n",
    "bot/handlers/start.py": "import bot.context\nimport core.services\n",
    "bot/dialogs/steps.py": "import bot.context\nimport telegram\n",
    # the command lines build services through the wiring, never through the handlers
    "bot/wiring.py": "import bot.context\nimport storage.repo\n",
    "bot/cli/run.py": "import bot.app\nimport bot.wiring\n",
    "bot/cli/tick.py": "import bot.wiring\n",
    "bot/cli/invite.py": "import bot.wiring\n",
    "bot/cli/report.py": "import bot.wiring\n",
    "bot/cli/apikey.py": "import bot.wiring\n",
    "bot/cli/migrate.py": "import storage.repo\n",
    "bot/cli/plan.py": "import core.cases\n",
    # the dashboard: on top of bot's wiring, started by its own command line
    "bot/cli/web.py": "import bot.wiring\nimport web.app\n",
    "web/app.py": "import bot.context\nimport storage.repo\nimport core.services\n",
    "storage/repo.py": "import sqlalchemy\nimport core.cases\n",
    "core/cases.py": "import datetime\n",
    "core/outbox.py": "",
    "core/services.py": "from core import cases\n",
}

BREAKS = {
    # what is changed -> the contract that must break (and only that one)
    "core imports storage": (
        {"core/services.py": "from core import cases\nimport storage.rows\n", "storage/rows.py": ""},
        "layers",
    ),
    "storage imports bot": ({"storage/wiring.py": "import bot.sender\n"}, "layers"),
    "core imports bot (under TYPE_CHECKING)": (
        {"core/services.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import bot.context\n"},
        "layers",
    ),
    "core imports telegram": ({"core/cases.py": "import telegram\n"}, "core-pure"),
    "core imports sqlalchemy": ({"core/cases.py": "from sqlalchemy.orm import Session\n"}, "core-pure"),
    "core imports alembic": ({"core/outbox.py": "from alembic import op\n"}, "core-pure"),
    "a handler imports storage": (
        {"bot/handlers/start.py": "import bot.context\nfrom storage import repo\n"},
        "front-through-services",
    ),
    "a dialog imports storage": ({"bot/dialogs/steps.py": "import storage.repo\n"}, "front-through-services"),
    "context and sender import each other": ({"bot/sender.py": "import bot.context\n"}, "acyclic"),
    "tick reaches the handlers": ({"bot/cli/tick.py": "import bot.app\n"}, "cli-without-handlers"),
    "the dashboard reaches the handlers": (
        {"web/app.py": "import bot.context\nimport bot.handlers.start\n"},
        "cli-without-handlers",
    ),
    "bot imports the dashboard": ({"bot/sender.py": "import core.outbox\nimport web.app\n"}, "layers"),
    "a circle inside bot.handlers": (
        {"bot/handlers/a.py": "import bot.handlers.b\n", "bot/handlers/b.py": "from bot.handlers import a\n"},
        "acyclic",
    ),
    # bot.handlers -> bot.replies -> bot.handlers, though no module is in it twice
    "a circle between bot's packages": (
        {
            "bot/handlers/start.py": "import bot.context\nimport bot.replies\n",
            "bot/replies.py": "import bot.handlers.other\n",
            "bot/handlers/other.py": "",
        },
        "acyclic",
    ),
}


def _synthetic(tmp_path: Path, changes: Mapping[str, str]) -> Path:
    root = tmp_path / "tree"
    write_tree(root, {**KEEPING_TREE, **changes})
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")  # the very same contracts
    return root


def test_a_tree_in_the_house_shape_keeps_the_contract(tmp_path: Path) -> None:
    root = _synthetic(tmp_path, {})
    code, output = lint_imports(root, pythonpath=root)
    assert verdicts(output) == {name: "KEPT" for name in contract_names().values()}, output
    assert code == 0, output
    # the synthetic tree (its modules and the few outside packages it names), not the real one
    analyzed = re.search(r"Analyzed (\d+) files", output)
    assert analyzed is not None, output
    assert len(list(root.rglob("*.py"))) <= int(analyzed.group(1)) < 30


@pytest.mark.parametrize("change", sorted(BREAKS))
def test_a_tree_that_breaks_one_rule_fails_on_that_rule(tmp_path: Path, change: str) -> None:
    files, broken = BREAKS[change]
    root = _synthetic(tmp_path, files)
    code, output = lint_imports(root, pythonpath=root)
    names = contract_names()
    expected = {name: "BROKEN" if id_ == broken else "KEPT" for id_, name in names.items()}
    assert verdicts(output) == expected, output
    assert code == 1, output


# -- the module-level cycle check bites, and names the circle ----------------------------------


def test_the_cycle_check_names_every_circle_of_a_tree_that_has_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a name of its own: this process has imported the real bot, core and storage
    write_tree(
        tmp_path,
        {
            "circles_demo/context.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from circles_demo.sender import Sender\n",
            "circles_demo/sender.py": "from circles_demo.context import Deps\n",
            "circles_demo/cli/app.py": "import circles_demo.cli.join\n",
            "circles_demo/cli/join.py": "import circles_demo.tick\n",
            "circles_demo/tick.py": "from circles_demo.cli import app\n",
            "circles_demo/handlers/fine.py": "import circles_demo.context\nimport circles_demo.tick\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("circles_demo", cache_dir=None)
    cycles = find_cycles(graph)
    assert cycles == [
        ["circles_demo.cli.app", "circles_demo.cli.join", "circles_demo.tick", "circles_demo.cli.app"],
        ["circles_demo.context", "circles_demo.sender", "circles_demo.context"],
    ]
    assert describe_cycles(cycles).splitlines()[1] == (
        "circles_demo.context -> circles_demo.sender -> circles_demo.context"
    )


def test_the_cycle_check_passes_a_tree_without_circles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(
        tmp_path,
        {
            "straight_demo/context.py": "import straight_demo.sender\n",
            "straight_demo/sender.py": "import straight_demo.pacing\n",
            "straight_demo/pacing.py": "",
            "straight_demo/app.py": "import straight_demo.context\nimport straight_demo.sender\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("straight_demo", cache_dir=None)
    assert len(graph.modules) == 5
    assert find_cycles(graph) == []
