"""`kaic validate-product` on generated drafts and on hand-edited files."""

from __future__ import annotations

from pathlib import Path

import yaml

from scanner.product import validate_product
from scanner.report import OutputFormat, render
from tests.conftest import run_scan


def draft(tmp_path: Path, version: str = "1.35") -> Path:
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    report = run_scan([tmp_path / "ns.yaml"], profile=f"cncf-{version}")
    out = tmp_path / f"v{version}" / "acme"
    out.mkdir(parents=True)
    (out / "kaic.json").write_text(render(report, OutputFormat.json))
    path = out / "PRODUCT.yaml"
    path.write_text(render(report, OutputFormat.cncf, evidence_files=["kaic.json"]))
    return path


def test_generated_draft_has_valid_structure_but_is_not_ready(tmp_path: Path) -> None:
    result = validate_product(draft(tmp_path))
    assert result.version == "1.35"
    assert result.structure == []
    assert result.ok(structure_only=True)
    assert not result.ok()
    assert any("placeholder" in p for p in result.readiness)


def test_structure_rules(tmp_path: Path) -> None:
    path = draft(tmp_path)
    data = yaml.safe_load(path.read_text())
    accel = data["spec"]["accelerators"]
    accel[:] = [i for i in accel if i["id"] != "gpu_sharing"]
    accel[0]["status"] = "Done"
    accel[0]["description"] = "edited"
    net = data["spec"]["networking"][0]
    net.update(status="N/A", notes="", evidence=["missing.md", "https://example.com/x"])
    path.write_text(yaml.safe_dump(data))
    problems = "\n".join(validate_product(path).structure)
    assert "spec.accelerators.gpu_sharing: requirement missing" in problems
    assert "status 'Done' is not one of" in problems
    assert "description must be the template text" in problems
    assert "N/A needs notes" in problems
    assert "evidence file missing.md does not exist" in problems
    assert "example.com" not in problems


def test_ready_file_passes(tmp_path: Path) -> None:
    path = draft(tmp_path, "1.36")
    data = yaml.safe_load(path.read_text())
    for key in data["metadata"]:
        data["metadata"][key] = f"value-{key}"
    data["metadata"]["k8sConformanceUrl"] = (
        "https://github.com/cncf/k8s-conformance/tree/master/v1.36/acme")
    for items in data["spec"].values():
        for item in items:
            item.update(status="Implemented", evidence=["kaic.json"], notes="")
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    result = validate_product(path)
    assert result.ok(), result
