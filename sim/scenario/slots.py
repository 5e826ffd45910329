"""Every numeric input the engines read: its path pattern, the unit the engines want, its bounds.

This table is the contract between the scenario format and the engines. A scenario value in
any compatible unit is converted to the slot's unit when the scenario is compiled, so the
engines never see a unit again; a value of the wrong dimension is a validation error.
"""
from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass

DATE = "date"
# Every date a scenario gives (calendar, controls, plants) lies in this window, so day offsets and
# the plots' date axes stay finite; a control "never" is an item left out, not year 9999.
DATE_WINDOW = (dt.date(1900, 1, 1), dt.date(2200, 12, 31))
# Upper bounds keep the engines' arithmetic finite (issue 13): ring buffers sized by lead times,
# growth compounded over 60 years, capacities summed over samples. Each is far above any real value.
MAX_DAYS = 3650.0            # lead times, inventory cover, decision delays: ten years
MAX_SLIP_DAYS = 36525.0      # build, ramp and slip times: a century
MAX_FLOW = 1e8               # t/day (36.5 Gt/year, ~20,000x world graphite output)
MAX_ENERGY = 1e4             # GWh/day (3.65 million GWh/year, ~1,000x world cell output)


@dataclass(frozen=True)
class SlotSpec:
    pattern: str          # dotted path, '*' matches one segment
    unit: str             # canonical unit, or 'date' (converted to days since calendar start)
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    alt_unit: str = ""    # a second accepted dimension (pipeline capacity: material or cell energy)
    what: str = ""


def _licence_slots(base: str) -> tuple[SlotSpec, ...]:
    """The licence terms of an export control, or of one of its phases (docs/controls.md)."""
    lic = f"{base}.licence"
    return (
        SlotSpec(f"{lic}.capacity_share", "dimensionless", 0, 1000,
                 what="licences processed per day as a share of the capacity basis, at the start of the phase"),
        SlotSpec(f"{lic}.capacity_share_final", "dimensionless", 0, 1000,
                 what="the share the review capacity adapts to after the phase starts"),
        SlotSpec(f"{lic}.capacity_tau_days", "day", 0, MAX_DAYS, what="time constant of the capacity's adaptation"),
        SlotSpec(f"{lic}.basis_smoothing_days", "day", 0, MAX_DAYS,
                 what="smoothing time of the current applications or demand the capacity is a share of"),
        SlotSpec(f"{lic}.approval", "dimensionless", 0, 1, what="share of applications approved"),
        SlotSpec(f"{lic}.decision_days", "day", 0, MAX_DAYS, what="mean time from review to a licence decision"),
        SlotSpec(f"{lic}.decision_cv", "dimensionless", 0, 3,
                 what="coefficient of variation of the decision time (gamma; 0 = fixed delay)"),
        SlotSpec(f"{base}.quota", "t/day", 0, MAX_FLOW, what="allowed exports"),
    )


SLOTS: tuple[SlotSpec, ...] = (
    SlotSpec("cells.capacity", "GWh/day", 0, MAX_ENERGY, what="cell production capacity at the start"),
    SlotSpec("cells.utilisation", "dimensionless", 0, 1, what="highest planned utilisation of capacity"),
    SlotSpec("cells.yield", "dimensionless", 0, 1, low_open=True, what="yield of established cell lines"),
    SlotSpec("cells.intensity.*", "t/GWh", 0, 1e6, low_open=True, what="graphite-equivalent need per GWh of good cells"),
    SlotSpec("materials.*.displaces", "dimensionless", 0, 100, low_open=True, what="graphite-equivalent tonnes per tonne"),
    SlotSpec("materials.*.max_share", "dimensionless", 0, 1, what="largest share of its group's duty"),
    SlotSpec("materials.*.price_response", "dimensionless", 0, 100,
             what="rise of the max_share per unit rise of the group's base-material price index (docs/market.md)"),
    SlotSpec("demand.segments.*.base", "GWh/day", 0, MAX_ENERGY, what="demand at the start"),
    SlotSpec("demand.segments.*.growth", "dimensionless", -1, 10, low_open=True, alt_unit="1/year", what="annual compound growth rate"),
    SlotSpec("destinations.*.share", "dimensionless", 0, 1, what="share of the importer's demand bound for this destination"),
    SlotSpec("supply.*.*.share", "dimensionless", 0, 1, what="preferred share of orders"),
    SlotSpec("supply.*.*.capacity", "t/day", 0, MAX_FLOW, what="what the origin can ship to the importer"),
    SlotSpec("supply.*.*.lead_time", "day", 0, MAX_DAYS, what="order-to-delivery time"),
    SlotSpec("inventory.*.initial_days", "day", 0, MAX_DAYS, what="inventory at the start, in days of use"),
    SlotSpec("inventory.*.target_days", "day", 0, MAX_DAYS, what="inventory the buyers aim to hold"),
    SlotSpec("ordering.adjustment_days", "day", 0, MAX_DAYS, low_open=True, what="time to close an inventory gap"),
    SlotSpec("reserves.*.initial", "t", 0, MAX_FLOW * 36525, what="strategic reserve at the start"),
    SlotSpec("reserves.*.trigger_days", "day", 0, MAX_DAYS, what="release when cover falls below this"),
    SlotSpec("reserves.*.release_days", "day", 0, MAX_DAYS, low_open=True, what="time to release the whole reserve"),
    SlotSpec("pipeline.*.capacity", "t/day", 0, MAX_FLOW, alt_unit="GWh/day", what="nameplate capacity"),
    SlotSpec("pipeline.*.announced", DATE),
    SlotSpec("pipeline.*.online", DATE),
    SlotSpec("pipeline.*.build_years", "day", 0, MAX_SLIP_DAYS, what="construction time before online"),
    SlotSpec("pipeline.*.ramp_years", "day", 0, MAX_SLIP_DAYS, what="time from online to full output"),
    SlotSpec("pipeline.*.delay_days", "day", 0, MAX_SLIP_DAYS, what="slip of the online date"),
    SlotSpec("pipeline.*.yield.*", "dimensionless", 0, 1, low_open=True, what="yield during the ramp"),
    SlotSpec("policies.export_controls.*.announced", DATE),
    SlotSpec("policies.export_controls.*.effective", DATE),
    SlotSpec("policies.export_controls.*.ends", DATE),
    SlotSpec("policies.export_controls.*.suspensions.*.start", DATE),
    SlotSpec("policies.export_controls.*.suspensions.*.end", DATE),
    *_licence_slots("policies.export_controls.*"),
    *_licence_slots("policies.export_controls.*.phases.*"),
    SlotSpec("policies.export_controls.*.phases.*.start", DATE),
    SlotSpec("policies.export_controls.*.phases.*.end", DATE),
    SlotSpec("policies.export_controls.*.exempt_share", "dimensionless", 0, 1, what="volume exempt from the control"),
    SlotSpec("policies.export_controls.*.diversion", "dimensionless", 0, 1,
             what="share of orders buyers move to other origins while the control binds"),
    SlotSpec("policies.export_controls.*.front_running", "dimensionless", 0, 20,
             what="extra orders between announcement and effect, as a fraction of normal"),
    SlotSpec("policies.sourcing_rules.*.schedule.*.from", DATE),
    SlotSpec("policies.sourcing_rules.*.schedule.*.min_share", "dimensionless", 0, 1),
    SlotSpec("policies.sourcing_rules.*.uptake", "dimensionless", 0, 1, what="share of buyers who chase the credit"),
    SlotSpec("policies.tariffs.*.rate", "dimensionless", 0, 100, what="ad valorem tariff"),
    SlotSpec("policies.tariffs.*.from", DATE),
    SlotSpec("jobs.exposed", "person", 0, 1e10, what="jobs that depend on the importer's cell output"),
    SlotSpec("costs.exchina_premium", "dimensionless", 0, 100, what="price premium of supply outside the controlled origin"),
    SlotSpec("costs.scarcity_elasticity", "dimensionless", 0, 1000, what="price rise per unit shortfall fraction"),
    SlotSpec("costs.learning_rate", "dimensionless", 0, 1, what="cost fall per doubling of cumulative output"),
    # the market of several importers (docs/market.md)
    SlotSpec("market.clearing.elasticity", "dimensionless", 0, 100, low_open=True,
             what="isoelastic response of orders to the price index (> 0)"),
    SlotSpec("market.clearing.price_cap", "dimensionless", 1, 1e6, what="upper bound of a link's price index"),
    SlotSpec("market.importers.*.willingness", "dimensionless", 0, 100, low_open=True,
             what="multiplies the price the importer will pay (1: like the others)"),
    SlotSpec("market.capacity.*.*", "t/day", 0, MAX_FLOW, what="export capacity of an origin shared by all importers"),
    SlotSpec("market.leakage.share", "dimensionless", 0, 1,
             what="share of what a control refuses that reaches the importer through third countries"),
    SlotSpec("market.leakage.delay_days", "day", 0, MAX_DAYS, what="extra time of the detour through third countries"),
    SlotSpec("market.investment.*.*.response", "dimensionless", 0, 1000,
             what="added capacity per unit rise of the mean price index (share of max_added)"),
    SlotSpec("market.investment.*.*.max_added", "t/day", 0, MAX_FLOW, what="largest capacity the price can bring in"),
    SlotSpec("market.investment.*.*.build_days", "day", 0, MAX_SLIP_DAYS,
             what="build and qualification time: no output before it"),
    SlotSpec("market.investment.*.*.cancellation_share", "dimensionless", 0, 1,
             what="share of the capacity the price calls for that is cancelled and never produces (optional, default 0)"),
    # discrete-event engine (sim/des, docs/des.md)
    SlotSpec("des.lot_size.*", "t", 0, MAX_FLOW, low_open=True, what="tonnes per lot (shipment and licence application)"),
    SlotSpec("des.lots_per_step", "dimensionless", 0, 10000, low_open=True,
             what="lots per step at a material's peak planned use (sets the default lot size)"),
    SlotSpec("des.lead_time.cv", "dimensionless", 0, 3, what="coefficient of variation of transit times"),
    SlotSpec("des.licence.servers", "dimensionless", 1, 10000, what="licence applications reviewed in parallel"),
    SlotSpec("des.licence.service_cv", "dimensionless", 0, 3, what="coefficient of variation of review times"),
    SlotSpec("des.licence.decision_cv", "dimensionless", 0, 3, what="coefficient of variation of decision delays"),
    SlotSpec("des.commissioning.slip_mean", "day", 0, MAX_SLIP_DAYS, what="mean random slip of a plant's online date"),
    SlotSpec("des.commissioning.slip_cv", "dimensionless", 0, 3, what="coefficient of variation of the slip"),
    SlotSpec("des.batch_yield_sd", "dimensionless", 0, 0.2, what="batch-to-batch standard deviation of cell yield"),
)


# sections a market importer may patch (market.importers.<code>.<section>...): the same slots
PATCHABLE = ("cells", "demand", "supply", "inventory", "ordering", "jobs", "reserves", "policies", "destinations")


def spec_for(path: str) -> SlotSpec | None:
    """The slot spec whose pattern matches a dotted path (segments compared one by one)."""
    parts = path.split(".")
    if len(parts) > 3 and parts[:2] == ["market", "importers"] and parts[3] in PATCHABLE:
        return spec_for(".".join(parts[3:]))
    for s in SLOTS:
        pat = s.pattern.split(".")
        if len(pat) == len(parts) and all(fnmatch.fnmatchcase(a, b) for a, b in zip(parts, pat)):
            return s
    return None
