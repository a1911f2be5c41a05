"""Facts come from the data files: no muscle or instrument id is typed as a literal in src/.

Muscle ids live in knowledge/muscles.toml and instrument ids in instruments/definitions/ (listed
once, in ``INSTRUMENT_IDS``); code takes them from there (e.g. the bilateral-SCM warning reads
``pathway.bilateral_scm.muscle``). The allow-list below names what must stay, with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

from bontrack.instruments import INSTRUMENT_IDS
from bontrack.knowledge import load_knowledge

SRC = Path(__file__).resolve().parents[2] / "src" / "bontrack"

# file (relative to src/bontrack) -> (ids allowed there, why)
ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    "instruments/definitions.py": (frozenset(INSTRUMENT_IDS), "INSTRUMENT_IDS: the one list of definitions"),
    "instruments/scoring.py": (frozenset(INSTRUMENT_IDS), "SCORERS: each id's scoring code"),
    "instruments/nprs.py": (frozenset({"nprs"}), "the NPRS scorer loads its own definition"),
    "instruments/vas.py": (frozenset({"vas"}), "the VAS scorer loads its own definition"),
    "instruments/ndi.py": (frozenset({"ndi"}), "the NDI scorer loads its own definition"),
    "instruments/rand36.py": (frozenset({"rand36"}), "the RAND-36 scorer loads its own definition"),
    "cli/score.py": (frozenset(INSTRUMENT_IDS), "one `bontrack score <id>` command per instrument"),
    "reports/content.py": (
        frozenset({"nprs", "ndi", "rand36"}),
        "the report's sections are written about these instruments (pain, neck disability, RAND-36)",
    ),
    "reports/sections/profile.py": (frozenset({"rand36"}), "the RAND-36 profile section"),
    "reports/plots.py": (frozenset({"rand36"}), "the name of the RAND-36 figure"),
    "reports/render.py": (frozenset({"rand36"}), "the name of the RAND-36 figure"),
    "synth/answers.py": (frozenset({"rand36"}), "the synthetic clinic answers each instrument's form"),
    "synth/pathway.py": (frozenset({"nprs", "ndi", "rand36"}), "the synthetic clinic's follow-up forms"),
    "web/bodymap.py": (frozenset(load_knowledge().files.muscles), "the drawing: a shape per muscle"),
    "web/views/chart.py": (frozenset({"nprs", "ndi"}), "the chart's trend lines (a display choice)"),
    "web/views/record_forms.py": (frozenset({"nprs"}), "the outcome form shown first"),
    "web/views/self_report.py": (frozenset({"nprs", "ndi"}), "the forms a patient link asks for by default"),
}


def _literals(ids: set[str]) -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in ids:
                found.append((rel, node.lineno, node.value))
    return found


def test_no_muscle_or_instrument_id_literals_outside_the_loaders() -> None:
    kb = load_knowledge()
    ids = set(kb.files.muscles) | set(INSTRUMENT_IDS)
    stray = [
        f"{rel}:{line}: {value!r}"
        for rel, line, value in _literals(ids)
        if value not in ALLOWED.get(rel, (frozenset(), ""))[0]
    ]
    assert not stray, "ids typed in code; take them from the data files:\n" + "\n".join(stray)


def test_the_allow_list_is_not_stale() -> None:
    """Every allowed file still holds an allowed literal (a cleaned-up file leaves the list)."""
    kb = load_knowledge()
    used = {rel for rel, _, value in _literals(set(kb.files.muscles) | set(INSTRUMENT_IDS))}
    assert set(ALLOWED) <= used, sorted(set(ALLOWED) - used)


def test_facts_that_name_ids_name_known_ones() -> None:
    kb = load_knowledge()
    assert kb.files.pathway.bilateral_scm.muscle in kb.files.muscles
    assert kb.files.pathway.cycle_response.instrument in INSTRUMENT_IDS
    assert set(kb.files.outcomes.responder_thresholds.defined_for) <= set(INSTRUMENT_IDS)
