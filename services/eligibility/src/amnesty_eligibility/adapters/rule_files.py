"""Rule sets from TOML files: the ones shipped in the package, or any file (for what-if questions)."""

from __future__ import annotations

import tomllib
from datetime import date
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from amnesty_contracts.field_types import RegimeId, RuleSetVersion
from amnesty_eligibility.domain.regimes import AbsenceDate, Regime, RuleSet

PACKAGED: Traversable = files("amnesty_eligibility") / "rule_sets"
"""The rule sets shipped with the service, one `<version>.toml` each."""


class RuleFileError(ValueError):
    """A rule-set file that cannot be read or does not describe a valid rule set."""


class _RegimeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RegimeId
    basis: str = ""
    absence_date: AbsenceDate = AbsenceDate.ABSENT_SINCE
    absence_by: Annotated[date, Field(strict=True)]
    returns_from: Annotated[date, Field(strict=True)]
    returns_until: Annotated[date, Field(strict=True)]

    @model_validator(mode="after")
    def _window_is_not_empty(self) -> Self:
        if self.returns_until < self.returns_from:
            raise ValueError(f"regime {self.id}: returns_until is before returns_from")
        return self


class _RuleSetFile(BaseModel):
    # Unknown keys are refused: a misspelt bound must not silently fall back to nothing.
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: RuleSetVersion
    description: str = ""
    reinstate_within_hours: Annotated[int, Field(strict=True, gt=0)] = 72
    same_return_within_days: Annotated[int, Field(strict=True, ge=0)] = 3
    regimes: list[_RegimeEntry]

    @model_validator(mode="after")
    def _ids_are_unique(self) -> Self:
        ids = [r.id for r in self.regimes]
        if len(ids) != len(set(ids)):
            raise ValueError("regime ids must be unique")
        return self


def parse_rule_set(text: str, *, origin: str = "<text>") -> RuleSet:
    """The rule set a TOML document describes; RuleFileError says what is wrong with it."""
    try:
        parsed = _RuleSetFile.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(f"{origin}: not TOML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise RuleFileError(f"{origin}: {problems}") from None
    return RuleSet(
        version=parsed.version,
        description=parsed.description,
        reinstate_within_hours=parsed.reinstate_within_hours,
        same_return_within_days=parsed.same_return_within_days,
        regimes=tuple(
            Regime(
                id=r.id,
                basis=r.basis,
                absence_date=r.absence_date,
                absence_by=r.absence_by,
                returns_from=r.returns_from,
                returns_until=r.returns_until,
            )
            for r in parsed.regimes
        ),
    )


def load_rule_file(path: Path) -> RuleSet:
    """The rule set in the TOML file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleFileError(f"{path}: {exc.strerror or exc}") from None
    return parse_rule_set(text, origin=str(path))


def load_packaged_rule_set(version: str) -> RuleSet:
    """A rule set shipped with the service, by version; its file must say the same version."""
    resource = PACKAGED / f"{version}.toml"
    if "/" in version or not resource.is_file():
        shipped = sorted(f.name.removesuffix(".toml") for f in PACKAGED.iterdir() if f.name.endswith(".toml"))
        raise RuleFileError(f"no rule set {version!r} in the package; shipped: {', '.join(shipped)}")
    rules = parse_rule_set(resource.read_text(encoding="utf-8"), origin=f"rule_sets/{version}.toml")
    if rules.version != version:
        raise RuleFileError(f"rule_sets/{version}.toml says it is version {rules.version!r}")
    return rules


def load_rule_set(version: str, file: Path | None = None) -> RuleSet:
    """The configured rule set: `file` when given, else the packaged `version`."""
    return load_rule_file(file) if file is not None else load_packaged_rule_set(version)
