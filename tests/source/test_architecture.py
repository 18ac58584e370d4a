"""The catalogue is the only list of objects, and the Arrow path stays behind its one module.

See docs/architecture.md: the source, the column generator, the README and the simulator all follow
sources/intercom/catalogue.py.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sources.intercom import intercom_source
from sources.intercom.catalogue import CATALOGUE, TABLES
from sources.intercom.columns import TABLE_COLUMNS
from tests.columns_from_spec import TABLES as GENERATED_TABLES
from tests.source.conftest import start_harness

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sources" / "intercom"
ARROW_MODULE = "arrow_pages.py"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_only_the_page_module_imports_pyarrow() -> None:
    importers = {
        path.name
        for path in PACKAGE.glob("*.py")
        if any(name.split(".")[0] == "pyarrow" for name in imported_modules(path))
    }
    assert importers == {ARROW_MODULE}


def test_the_source_returns_the_tables_of_the_catalogue() -> None:
    source = intercom_source(access_token="architecture", base_url="http://127.0.0.1:9")
    assert tuple(source.resources) == TABLES
    internal = {entry.name for entry in CATALOGUE if entry.internal}
    assert internal == {"contact_changes", "company_changes", "ticket_changes"}
    assert not internal & set(source.resources)


def test_every_table_has_columns_from_the_generator() -> None:
    assert set(GENERATED_TABLES) == set(TABLE_COLUMNS) == set(TABLES) - {"content_exports"}


def test_parents_come_before_their_tables() -> None:
    seen: set[str] = set()
    for entry in CATALOGUE:
        assert entry.parent is None or entry.parent in seen, entry.name
        seen.add(entry.name)


def readme_resource_names() -> set[str]:
    """The names in the first column of the README's resource table."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| resource | endpoint |"))
    names: set[str] = set()
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        names.update(re.findall(r"`(\w+)`", line.split("|")[1]))
    return names


def test_the_readme_resource_table_names_every_table() -> None:
    assert set(TABLES) <= readme_resource_names()


def _template(endpoint: str) -> str:
    return re.sub(r"\{\w+\}", "{}", endpoint)


def test_the_simulator_routes_every_endpoint(tmp_path: Path) -> None:
    _, server = start_harness(tmp_path, contacts=1, companies=1, conversations=1)
    try:
        routed = {_template(template) for _, _, template, _ in server._routes}
    finally:
        server.stop()
    for entry in CATALOGUE:
        for endpoint in entry.endpoints:
            assert _template(endpoint) in routed, f"{entry.name}: the simulator does not route {endpoint}"
