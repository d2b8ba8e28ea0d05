"""`--format json` matches the JSON Schema in schemas/report.schema.json, for every bundled model."""

from __future__ import annotations

import json

import jsonschema
import pytest

import ircheck
from tests.conftest import MODELS, ROOT

SCHEMA = json.loads((ROOT / "schemas" / "report.schema.json").read_text())


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.irq"))[:60], ids=lambda p: p.name)
def test_reports_validate(path: object) -> None:
    doc = ircheck.check_file(path).to_json()  # type: ignore[arg-type]
    jsonschema.validate(doc, SCHEMA)


def test_error_reports_and_limits_validate() -> None:
    jsonschema.validate(ircheck.check_source("pic p : i8259 {", "bad.irq").to_json(), SCHEMA)
    r = ircheck.check_file(MODELS / "x86_timer_storm_fully_nested.irq", max_states=5)
    assert r.verdict == "inconclusive"
    jsonschema.validate(r.to_json(), SCHEMA)


def test_schema_rejects_a_wrong_document() -> None:
    doc = ircheck.check_file(MODELS / "lang_lost_irq.irq").to_json()
    doc["checks"][0]["status"] = "fine"  # type: ignore[index]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)


def test_reports_with_suggestions_validate() -> None:
    """`--suggest` adds a "suggestions" list (ircheck.suggest.Fix.to_json) to a violated model's object."""
    from ircheck.suggest import suggest
    path = MODELS / "lang_deadlock_spin_lock.irq"
    r = ircheck.check_file(path)
    r.suggestions = suggest(r.source, r.model, original=r).to_json()
    doc = r.to_json()
    assert doc["suggestions"] and doc["suggestions"][0]["repairs"][0]["key"] == "irqsave:app:rx_lock"  # type: ignore[index]
    jsonschema.validate(doc, SCHEMA)
    doc["suggestions"][0]["diff"] = "not a diff"  # type: ignore[index]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)
