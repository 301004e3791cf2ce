"""Hanoi's wards/communes and the VSIC sections, read from the data files beside this module."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"
VSIC_VERSIONS = {"2018": "vsic2018-sections.csv"}
CURRENT_VSIC = "2018"


@dataclass(frozen=True)
class Ward:
    code: str
    name_vi: str
    name_en: str
    type: str  # ward | commune
    former_districts: tuple[str, ...]

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi

    @property
    def main_district(self) -> str:
        return self.former_districts[0] if self.former_districts else ""


@dataclass(frozen=True)
class Section:
    code: str
    name_vi: str
    name_en: str
    group: str  # agri_industry_construction | trade_services (Decree 80/2021)

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_vi


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def wards() -> dict[str, Ward]:
    return {
        r["code"]: Ward(r["code"], r["name_vi"], r["name_en"], r["type"],
                        tuple(d for d in r["former_districts"].split(";") if d))
        for r in _rows("hanoi-units-2025.csv")
    }


@cache
def sections(version: str = CURRENT_VSIC) -> dict[str, Section]:
    return {r["code"]: Section(r["code"], r["name_vi"], r["name_en"], r["group"])
            for r in _rows(VSIC_VERSIONS[version])}
