"""Questionnaire answers from a patient's latent state (pain, disability), as the forms code them."""

from __future__ import annotations

import math
import random

from bontrack.instruments import load_definition
from bontrack.outcomes.schemas import Answer
from bontrack.synth.calibration import Calibration


def clamp(x: float, low: float, high: float) -> float:
    return max(low, min(high, x))


def response_shape(weeks: float, cal: Calibration) -> float:
    """Share of the peak effect present ``weeks`` after an injection: builds, plateaus, wanes."""
    onset = cal.num("response.time_course.onset_weeks")
    plateau = cal.num("response.time_course.plateau_until_weeks")
    tau = cal.num("response.time_course.waning_weeks")
    rising = min(1.0, weeks / onset)
    return rising * math.exp(-max(0.0, weeks - plateau) / tau)


def nprs_answers(rng: random.Random, pain: float, cal: Calibration) -> dict[str, Answer]:
    noisy = pain + rng.gauss(0, cal.num("response.measurement_sd"))
    return {"1": round(clamp(noisy, 0, 10))}


def ndi_answers(rng: random.Random, percent: float, cal: Calibration) -> dict[str, Answer]:
    """Ten sections 0-5 around the target total; the driving section is sometimes left blank."""
    per_item = clamp(percent, 0, 100) / 100 * 5
    answers: dict[str, Answer] = {
        str(n): round(clamp(per_item + rng.gauss(0, 0.7), 0, 5)) for n in range(1, 11)
    }
    if rng.random() < cal.num("baseline.ndi_driving_blank.value"):
        answers["8"] = None
    return answers


def rand36_answers(rng: random.Random, health: float) -> dict[str, Answer]:
    """Each item's option whose 0-100 value is nearest a noisy latent health level."""
    definition = load_definition("rand36")
    answers: dict[str, Answer] = {}
    for item in definition.items:
        target = clamp(health + rng.gauss(0, 18), 0, 100)
        option = min(item.options, key=lambda o: abs((o.value or 0.0) - target))
        answers[str(item.number)] = option.code
    return answers
