"""plan-dose against `bontrack check` in the same run: requests per second, in process.

The floor is the whole check (parse_check_request + decide) of the engine benchmark's generated
plans; the measured figure is the whole plan-dose (parse_plan_dose_request + plan_dose, which
runs decide once on the plan it proposes) of requests made from the same plans: their sites become
targets (random intensities), their history keeps only sessions the retreatment interval allows, so
nearly every request is planned rather than refused early. Aim: plan-dose within 3x of check.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from bontrack.clinical.decision import decide
from bontrack.clinical.plan import parse_check_request
from bontrack.knowledge import load_knowledge
from bontrack.planning.dose import PlanningError, parse_plan_dose_request, plan_dose
from bontrack.planning.knowledge import load_planning

AIM = 3.0


def best_of(runs: int, fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def requests_from(plans: list[dict[str, Any]], seed: int = 11) -> list[dict[str, Any]]:
    kb = load_knowledge()
    rng = random.Random(seed)
    out = []
    for plan in plans:
        doc = copy.deepcopy(plan)
        day = date.fromisoformat(doc["date"])
        pid = doc["plan"]["product"]
        interval = kb.product(pid).min_retreatment_days.value
        doc["history"] = [p for p in doc["history"] if (day - date.fromisoformat(p["date"])).days >= interval]
        targets = {(s["muscle"], s["side"]) for s in doc["plan"]["sites"]}
        levels = ["low", "usual", "high"]
        doc["targets"] = [
            {"muscle": m, "side": s, "intensity": rng.choice(levels)} for m, s in sorted(targets)
        ]
        for key in ("sites", "vial_units", "vial_count", "diluent_ml"):
            doc["plan"].pop(key, None)
        out.append(doc)
    return out


def planner_figures(plans: list[dict[str, Any]]) -> dict[str, float]:
    kb, pk = load_knowledge(), load_planning()
    requests = requests_from(plans)

    def check_all() -> None:
        for p in plans:
            decide(parse_check_request(p, kb), kb)

    refused = 0

    def plan_all() -> None:
        nonlocal refused
        refused = 0
        for r in requests:
            try:
                plan_dose(parse_plan_dose_request(r, pk), pk)
            except PlanningError:
                refused += 1

    check_s = best_of(3, check_all)
    plan_s = best_of(3, plan_all)
    return {"n": len(plans), "check_s": check_s, "plan_s": plan_s, "refused": refused}
