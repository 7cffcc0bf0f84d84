"""The quickstart notebook runs top to bottom in a real Jupyter kernel; it and the docs use only
the public API (`selfinstruct` and `selfinstruct.finetune`)."""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

import selfinstruct
import selfinstruct.finetune

ROOT = Path(__file__).parents[1]
NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"
PUBLIC = {
    "selfinstruct": set(selfinstruct.__all__),
    "selfinstruct.finetune": set(selfinstruct.finetune.__all__),
}


def code_cells() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def doc_blocks() -> list[tuple[str, str]]:
    """(file, code) of every ```python block in README.md and docs/."""
    blocks = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for code in re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
            blocks.append((path.name, code))
    return blocks


def private_uses(source: str) -> list[str]:
    """Imports from selfinstruct outside the public API, and `selfinstruct.X` not in __all__."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("selfinstruct")
        ):
            public = PUBLIC.get(node.module)
            if public is None:
                found.append(f"from {node.module} import ...")
            else:
                found += [f"{node.module}.{a.name}" for a in node.names if a.name not in public]
        elif isinstance(node, ast.Import):
            found += [
                a.name
                for a in node.names
                if a.name.startswith("selfinstruct") and a.name not in PUBLIC
            ]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "selfinstruct"
            and node.attr not in PUBLIC["selfinstruct"] | {"finetune", "__version__"}
        ):
            found.append(f"selfinstruct.{node.attr}")
    return found


def test_notebook_and_docs_use_only_the_public_api() -> None:
    assert len(code_cells()) >= 6
    for source in code_cells():
        assert private_uses(source) == [], source
    blocks = doc_blocks()
    assert len(blocks) >= 5
    for name, code in blocks:
        assert private_uses(code) == [], f"{name}: {code}"
    for name in selfinstruct.__all__:
        assert getattr(selfinstruct, name) is not None, name


def test_the_committed_notebook_shows_a_real_run() -> None:
    # a reader on a code-hosting site sees results without running it
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert "funnel:" in text and "numbers add up" in text and len(images) >= 4
    assert not [o for o in outputs if o.get("output_type") == "error"]


@pytest.mark.server
@pytest.mark.model
@pytest.mark.slow
def test_quickstart_runs_top_to_bottom_in_a_jupyter_kernel(
    llama_server: Any, tmp_path: Path
) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = {
        "SELFINSTRUCT_BASE_URL": llama_server.base_url,
        "SELFINSTRUCT_OUT": str(tmp_path / "run"),
        "SELFINSTRUCT_N": "3",
    }
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client = NotebookClient(
            nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        )
        client.execute()  # raises CellExecutionError on the first cell that fails
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert (tmp_path / "run" / "alpaca.jsonl").exists()
    assert (tmp_path / "run" / "adapter" / "adapter_config.json").exists()
