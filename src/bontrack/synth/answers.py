"""Questionnaire answers from a patient's latent state (pain, disability), as the forms code them."""

from __future__ import annotations

import math
import random
from functools import cache

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


@cache
def _rand36_options() -> tuple[tuple[str, tuple[tuple[float, int], ...]], ...]:
    """Each RAND-36 item's key with its options' (value, code), in the form's order."""
    return tuple(
        (str(item.number), tuple((o.value, o.code) for o in item.options))
        for item in load_definition("rand36").items
    )


def rand36_answers(rng: random.Random, health: float) -> dict[str, Answer]:
    """Each item's option whose 0-100 value is nearest a noisy latent health level (the first
    such option in the form's order on a tie)."""
    answers: dict[str, Answer] = {}
    for key, options in _rand36_options():
        target = clamp(health + rng.gauss(0, 18), 0, 100)
        best_code, best_distance = options[0][1], math.inf
        for value, code in options:
            distance = abs(value - target)
            if distance < best_distance:
                best_code, best_distance = code, distance
        answers[key] = best_code
    return answers
