"""Pydantic models of questionnaires as data, and of the scores they produce."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from telespine.triage.types import Audience


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    """One answer a person can pick, and the points it scores."""

    code: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    points: int


class ResponseSet(_Strict):
    """How an item is answered: a list of options, or a whole number in a range with anchor labels."""

    kind: Literal["choice", "numeric"]
    options: list[Option] = []
    min: int | None = None
    max: int | None = None
    anchors: dict[int, str] = {}

    @model_validator(mode="after")
    def _shape(self) -> ResponseSet:
        if self.kind == "choice":
            if len(self.options) < 2 or self.min is not None or self.max is not None:
                raise ValueError("a choice response set needs 2+ options and no min/max")
            codes = [o.code for o in self.options]
            if len(set(codes)) != len(codes):
                raise ValueError("option codes must be unique")
        else:
            if self.options or self.min is None or self.max is None or self.min >= self.max:
                raise ValueError("a numeric response set needs min < max and no options")
            if any(not self.min <= k <= self.max for k in self.anchors):
                raise ValueError("anchors must lie between min and max")
        return self

    @property
    def max_points(self) -> int:
        """The most points one answer can score."""
        if self.kind == "choice":
            return max(o.points for o in self.options)
        return self.max if self.max is not None else 0

    @property
    def min_points(self) -> int:
        """The fewest points one answer can score."""
        if self.kind == "choice":
            return min(o.points for o in self.options)
        return self.min if self.min is not None else 0


class Item(_Strict):
    """One question of an instrument."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    text: str
    text_pediatric: str | None = None
    response: str

    def text_for(self, audience: Audience) -> str:
        """The wording for this audience (the parent wording when there is one)."""
        return self.text_pediatric if audience == "pediatric" and self.text_pediatric else self.text


class Scale(_Strict):
    """A score computed from some items: their sum or their mean."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    items: list[str] = Field(min_length=1)
    method: Literal["sum", "mean"]
    min: float
    max: float


class Condition(_Strict):
    """A comparison of one scale with a number (a small closed set of operators)."""

    scale: str
    op: Literal["lt", "le", "eq", "ge", "gt"]
    value: float


class Category(_Strict):
    """A named band of scores; the first category whose conditions all hold applies."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    advice: str | None = None
    when: list[Condition] = []


class Licence(_Strict):
    """Who holds the rights, what the deployment may do, and the notice to show."""

    holder: str
    terms: str
    notice: str
    wording: Literal["published", "paraphrased"]
    wording_note: str


class Instrument(_Strict):
    """A validated questionnaire: items, response options, scoring, licence and citation."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    version: str
    title: str
    purpose: str
    audiences: list[Audience] = Field(min_length=1)
    instructions: str
    instructions_pediatric: str | None = None
    response_sets: dict[str, ResponseSet]
    items: list[Item] = Field(min_length=1)
    scales: list[Scale] = Field(min_length=1)
    primary_scale: str
    categories: list[Category] = []
    licence: Licence
    citation: str
    sources: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        item_ids = [i.id for i in self.items]
        if len(set(item_ids)) != len(item_ids):
            raise ValueError("item ids must be unique")
        for item in self.items:
            if item.response not in self.response_sets:
                raise ValueError(f"item {item.id} uses unknown response set {item.response}")
        scale_ids = {s.id for s in self.scales}
        if self.primary_scale not in scale_ids:
            raise ValueError(f"primary scale {self.primary_scale} is not a scale")
        for scale in self.scales:
            unknown = set(scale.items) - set(item_ids)
            if unknown:
                raise ValueError(f"scale {scale.id} reads unknown items {sorted(unknown)}")
            lo, hi = self._range(scale)
            if (lo, hi) != (scale.min, scale.max):
                raise ValueError(f"scale {scale.id} declares {scale.min}-{scale.max}, items give {lo}-{hi}")
        for cat in self.categories:
            for cond in cat.when:
                if cond.scale not in scale_ids:
                    raise ValueError(f"category {cat.id} reads unknown scale {cond.scale}")
        if self.categories and self.categories[-1].when:
            # A final catch-all makes every possible score land in some category.
            raise ValueError("the last category must have no conditions (the catch-all)")
        return self

    def _range(self, scale: Scale) -> tuple[float, float]:
        sets = [self.response_sets[self.item(i).response] for i in scale.items]
        lo = float(sum(s.min_points for s in sets))
        hi = float(sum(s.max_points for s in sets))
        if scale.method == "mean":
            return lo / len(sets), hi / len(sets)
        return lo, hi

    def item(self, item_id: str) -> Item:
        """The item with this id (KeyError if none)."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)


class ScoreRecord(_Strict):
    """One completed questionnaire: its scores, category and the time it was taken."""

    instrument_id: str
    version: str
    scores: dict[str, float]
    primary_scale: str
    category: str | None
    category_label: str | None
    advice: str | None = None
    responses: dict[str, int | str]
    taken_at: AwareDatetime

    @property
    def primary(self) -> float:
        """The instrument's main score."""
        return self.scores[self.primary_scale]
