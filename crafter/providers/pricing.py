"""Token prices from crafter/data/prices.yaml, with the date they were checked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import yaml

from crafter.resources import package_data


@dataclass(frozen=True)
class PriceTable:
    as_of: dt.date
    per_mtok: dict[str, tuple[float, float]]
    free_providers: frozenset[str]

    def cost(self, model_id: str, input_tokens: int, output_tokens: int) -> float | None:
        """USD for the tokens, 0 for local providers, None when the model has no known price."""
        if model_id.split(":", 1)[0] in self.free_providers:
            return 0.0
        price = self.per_mtok.get(model_id)
        if price is None:
            return None
        return round((input_tokens * price[0] + output_tokens * price[1]) / 1_000_000, 6)


@cache
def price_table() -> PriceTable:
    raw = yaml.safe_load(package_data("prices.yaml").read_text(encoding="utf-8"))
    models = {k: (float(v["input"]), float(v["output"])) for k, v in raw["models"].items()}
    as_of = raw["as_of"]
    if not isinstance(as_of, dt.date):
        as_of = dt.date.fromisoformat(str(as_of))
    return PriceTable(as_of, models, frozenset(raw.get("free_providers", [])))
