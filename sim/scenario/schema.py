"""The scenario format as a JSON Schema (draft 2020-12).

The schema is the single statement of what keys a scenario may have; validation, the
did-you-mean hints and the published ``scenarios/scenario.schema.json`` (for editors) all come
from :func:`scenario_schema`. Numbers are never bare: each is a *quantity* — a registry
reference ``{param: ID}``, a what-if ``{lever: V, unit: U, why: ..}`` or a cited override
``{value: V, unit: U, cite: {...}}`` — so that every value in a run traces to its evidence.
"""
from __future__ import annotations

import json
from typing import Any

ID_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
CODE_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
REGIMES = ["none", "licence", "quota", "ban"]
CAPACITY_BASES = ["pre_control", "applications", "demand"]
DELAY_SHAPES = ["fixed", "gamma", "lognormal", "uniform"]


def _obj(props: dict[str, Any], required: list[str] | None = None, desc: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    if desc:
        out["description"] = desc
    return out


def _map(values: dict[str, Any], desc: str = "", key_pattern: str = CODE_PATTERN) -> dict[str, Any]:
    out = {"type": "object", "propertyNames": {"pattern": key_pattern}, "additionalProperties": values}
    if desc:
        out["description"] = desc
    return out


_NUMBER_OR_DATE = {"oneOf": [{"type": "number"}, {"type": "string", "format": "date"}]}
_CITE = _obj({
    "source": {"type": "string", "description": "bibliography id (calibration/bibliography/*.json)"},
    "locator": {"type": "string", "description": "paragraph, page or table"},
    "quote": {"type": "string", "description": "verbatim quote, in the source's language"},
    "quote_en": {"type": "string", "description": "English rendering when the quote is not English"},
    "reading": {"type": "string", "description": "how the figure was read"},
}, ["source", "locator", "quote"])

QUANTITY = {
    "description": "A number with provenance: {param: ID} | {lever: V, unit: U, why: TEXT} | {value: V, unit: U, cite: {...}}",
    "oneOf": [
        _obj({"param": {"type": "string", "pattern": ID_PATTERN, "description": "registry id"}}, ["param"]),
        _obj({"lever": _NUMBER_OR_DATE, "unit": {"type": "string"}, "why": {"type": "string"},
              "what_if": {"type": "boolean", "description": "a deliberate value outside the range of the registry "
                                                           "entry this lever replaces (recorded in the manifest)"},
              "range": _obj({"low": _NUMBER_OR_DATE, "high": _NUMBER_OR_DATE}, ["low", "high"])},
             ["lever", "unit", "why"], "a what-if choice of the scenario"),
        _obj({"value": _NUMBER_OR_DATE, "unit": {"type": "string"}, "cite": _CITE,
              "range": _obj({"low": _NUMBER_OR_DATE, "high": _NUMBER_OR_DATE}, ["low", "high"])},
             ["value", "unit", "cite"], "a cited override of a registry value"),
    ],
}


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema every scenario (after ``extends:`` is resolved) must satisfy."""
    q = {"$ref": "#/$defs/quantity"}
    window = _obj({"start": q, "end": q}, ["start", "end"])
    licence = _obj({
        "capacity_share": q, "capacity_share_final": q, "capacity_tau_days": q,
        "capacity_basis": {"enum": CAPACITY_BASES, "description": "what the review capacity is a share of"},
        "basis_smoothing_days": q, "approval": q, "decision_days": q, "decision_cv": q,
    }, desc="licence terms (docs/controls.md); in a phase, they override the control's own")
    phase = _obj({
        "regime": {"enum": REGIMES}, "start": q, "end": q,
        "destinations": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                         "description": "destination codes this phase applies to (default: all)"},
        "licence": licence, "quota": q, "note": {"type": "string"},
    }, ["regime", "start"], "one dated regime of an export control")
    export_control = _obj({
        "id": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": 100},
        "remove": {"type": "boolean", "description": "drop this item inherited from the base scenario"},
        "origin": {"type": "string"}, "material": {"type": "string"},
        "destination": {"type": "string", "description": "importer region code, or 'all'"},
        "regime": {"enum": REGIMES},
        "announced": q, "effective": q, "ends": q,
        "suspensions": {"type": "array", "items": window},
        "licence": licence,
        "phases": {"type": "array", "items": phase, "minItems": 1,
                   "description": "dated regimes (instead of regime/effective/ends/suspensions); see docs/controls.md"},
        "quota": q, "exempt_share": q, "diversion": q, "front_running": q,
        "in_transit": {"enum": ["deliver", "lose"],
                       "description": "what happens to lots already shipped when a ban starts"},
        "note": {"type": "string"},
    }, ["id"])
    sourcing_rule = _obj({
        "id": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": 100}, "remove": {"type": "boolean"},
        "material": {"type": "string"},
        "excluded_origins": {"type": "array", "items": {"type": "string"}},
        "schedule": {"type": "array", "items": _obj({"from": q, "min_share": q}, ["from", "min_share"])},
        "uptake": q, "note": {"type": "string"},
    }, ["id"])
    tariff = _obj({"id": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": 100}, "remove": {"type": "boolean"},
                   "origin": {"type": "string"}, "material": {"type": "string"}, "rate": q, "from": q,
                   "note": {"type": "string"}}, ["id"])
    project = _obj({
        "id": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": 100}, "remove": {"type": "boolean"},
        "name": {"type": "string"},
        "region": {"type": "string"}, "product": {"type": "string", "description": "a material, or 'cells'"},
        "capacity": q, "announced": q, "online": q, "build_years": q, "ramp_years": q, "delay_days": q,
        "yield": _obj({"start": q, "target": q, "end": q}),
        "note": {"type": "string"},
    }, ["id"])
    shape = {"enum": DELAY_SHAPES, "description": "distribution of a delay around its mean (cv sets the spread)"}
    des = _obj({
        "lot_size": _map(q, "tonnes per lot (shipment and licence application), by material; "
                            "default: the material's peak planned use per step / lots_per_step", r"^[a-z][a-z0-9_]*$"),
        "lots_per_step": q,
        "lead_time": _obj({"shape": shape, "cv": q}),
        "licence": _obj({"servers": q, "service_shape": shape, "service_cv": q,
                         "decision_shape": shape, "decision_cv": q}),
        "commissioning": _obj({"shape": shape, "slip_mean": q, "slip_cv": q}),
        "batch_yield_sd": q,
    }, desc="settings of the discrete-event engine (--engine des|hybrid); see docs/des.md")
    props = _props(q, project, export_control, sourcing_rule, tariff, des)
    props["market"] = _market(q, props)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://batsim.invalid/scenario.schema.json",
        "title": "batsim scenario",
        "description": "A battery supply-chain disruption scenario. Numbers are quantities with provenance.",
        "$defs": {"quantity": QUANTITY},
        "type": "object",
        "additionalProperties": False,
        "properties": props,
    }


def _props(q: dict, project: dict, export_control: dict, sourcing_rule: dict, tariff: dict, des: dict) -> dict[str, Any]:
    """The top-level sections of a scenario (without ``market:``)."""
    return {
        "id": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": 100, "description": "output folder name"},
        "title": {"type": "string", "maxLength": 200, "description": "shown on every plot"},
        "description": {"type": "string", "maxLength": 20000, "description": "the question this scenario answers"},
        "extends": {"type": "string", "description": "path of a base scenario, relative to this file"},
        "calendar": _obj({"start": {"type": "string", "format": "date"},
                          "end": {"type": "string", "format": "date"},
                          "step": {"enum": ["day", "week", "month"]}}, ["start", "end", "step"]),
        "importer": {"type": "string", "description": "the region whose cell output is modelled"},
        "destinations": _map(_obj({"share": q, "name": {"type": "string"}}, ["share"]),
                             "the importer's demand split by destination (an importer standing for several "
                             "buyers); export-control phases may target destinations by these codes"),
        "regions": _map(_obj({"name": {"type": "string"}}), "regions by code"),
        "materials": _map(_obj({
            "name": {"type": "string"}, "unit": {"type": "string"},
            "group": {"type": "string", "description": "bill-of-materials slot this material fills"},
            "displaces": q, "max_share": q, "price_response": q,
        }, ["unit", "group"]), "materials by name", key_pattern=r"^[a-z][a-z0-9_]*$"),
        "cells": _obj({"capacity": q, "utilisation": q, "yield": q,
                       "intensity": _map(q, "graphite-equivalent need per GWh, by group", r"^[a-z][a-z0-9_]*$")},
                      ["capacity", "intensity"]),
        "demand": _obj({"segments": _map(_obj({"base": q, "growth": q, "name": {"type": "string"}}, ["base", "growth"]),
                                         "segments by name", r"^[a-z][a-z0-9_]*$")}, ["segments"]),
        "supply": _map(_map(_obj({"share": q, "capacity": q, "lead_time": q}, ["share", "lead_time"]),
                            "origins"), "by material", r"^[a-z][a-z0-9_]*$"),
        "inventory": _map(_obj({"initial_days": q, "target_days": q}, ["initial_days", "target_days"]),
                          "by material", r"^[a-z][a-z0-9_]*$"),
        "ordering": _obj({"adjustment_days": q}),
        "reserves": _map(_obj({"initial": q, "trigger_days": q, "release_days": q}, ["initial"]),
                         "strategic reserves by material", r"^[a-z][a-z0-9_]*$"),
        "pipeline": {"type": "array", "items": project},
        "policies": _obj({"export_controls": {"type": "array", "items": export_control},
                          "sourcing_rules": {"type": "array", "items": sourcing_rule},
                          "tariffs": {"type": "array", "items": tariff}}),
        "jobs": _obj({"exposed": q}),
        "costs": _obj({"exchina_premium": q, "scarcity_elasticity": q, "learning_rate": q}),
        "des": des,
        "claims": {"type": "array", "items": _obj({
            "param": {"type": "string", "pattern": ID_PATTERN}, "kpi": {"type": "string"},
            "note": {"type": "string"}}, ["param", "kpi"])},
    }


def _patch(schema: Any) -> Any:
    """``schema`` with nothing required: a market importer states only what differs from the base."""
    if isinstance(schema, dict):
        return {k: _patch(v) for k, v in schema.items() if k != "required"}
    if isinstance(schema, list):
        return [_patch(v) for v in schema]
    return schema


def _market(q: dict, props: dict[str, Any]) -> dict[str, Any]:
    """The optional ``market:`` section: other importers, shared capacity, clearing, leakage, investment."""
    from .slots import PATCHABLE

    mat = r"^[a-z][a-z0-9_]*$"
    importer = _obj({"name": {"type": "string"}, "willingness": q,
                     **{k: _patch(props[k]) for k in PATCHABLE}},
                    desc="an importing region competing for the same supply: patches of the base scenario's "
                         "sections, deep-merged over it (docs/market.md)")
    return _obj({
        "clearing": _obj({"elasticity": q, "price_cap": q}, ["elasticity"],
                         "the clearing rule's elasticity of orders to price and the bound of the price index"),
        "importers": _map(importer, "other importing regions by region code"),
        "capacity": _map(_map(q, "shared export capacity by origin"), "by material", mat),
        "leakage": _obj({"share": q, "delay_days": q}, ["share", "delay_days"],
                        "a share of what export controls refuse reaches importers through third countries"),
        "investment": _map(_map(_obj({"response": q, "max_added": q, "build_days": q, "cancellation_share": q},
                                     ["response", "max_added", "build_days"]), "by origin"), "by material", mat),
    }, ["clearing"], "several importers competing for shared supply at a clearing price (docs/market.md)")


def schema_json() -> str:
    """The schema as the text published in ``scenarios/scenario.schema.json``."""
    return json.dumps(scenario_schema(), indent=2, ensure_ascii=False) + "\n"
