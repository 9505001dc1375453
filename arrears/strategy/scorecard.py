"""The scorecard: each case's probability of curing within 60 days and of rolling to the next bucket.

Trained with optbinning (monotonic optimal binning, weight of evidence) and scikit-learn's
logistic regression on the servicer's own history; no hand-written optimiser. What is stored is
plain data (the bins with their WoE, the coefficients, the held-out metrics and the training
population's score distribution), so a model file is readable, diffable and safe to load: scoring
is a lookup and a logistic function.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arrears.strategy.features import FEATURES, TARGETS

PSI_WATCH = 0.1  # the population has moved: watch it
PSI_ACT = 0.25  # the population has changed: retrain
PSI_BINS = 10
MIN_ROWS = 200


class ScorecardError(ValueError):
    """Training or scoring cannot go on (too little history, a column missing, a bad model file)."""


@dataclass(frozen=True, slots=True)
class Bins:
    """One feature's bins: `splits` cut it into len(splits)+1 bins, each with its WoE."""

    feature: str
    splits: list[float]
    woe: list[float]
    missing_woe: float
    event_rate: list[float]
    count: list[int]

    def transform(self, values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        idx = np.searchsorted(np.asarray(self.splits, dtype=float), values, side="right")
        out = np.asarray(self.woe, dtype=float)[np.clip(idx, 0, len(self.woe) - 1)]
        return np.where(np.isnan(values), self.missing_woe, out)

    def labels(self) -> list[str]:
        edges = ["-inf", *(f"{s:.4g}" for s in self.splits), "inf"]
        return [f"[{edges[i]}, {edges[i + 1]})" for i in range(len(self.woe))]


@dataclass(frozen=True, slots=True)
class Target:
    """One fitted target (cure within 60 days, or roll): bins, coefficients, metrics, baseline."""

    name: str
    bins: list[Bins]
    intercept: float
    coefficients: dict[str, float]
    metrics: dict[str, float]
    calibration: list[dict[str, float]]
    psi_edges: list[float]  # the training population's score deciles
    psi_expected: list[float]  # and the share of it in each

    def probability(self, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        z = np.full(len(frame), self.intercept, dtype=float)
        for b in self.bins:
            z += self.coefficients[b.feature] * b.transform(frame[b.feature].to_numpy(dtype=float))
        p: np.ndarray[Any, Any] = 1.0 / (1.0 + np.exp(-z))
        return p


@dataclass(frozen=True, slots=True)
class ScoreModel:
    """A versioned scorecard: its targets, how it was trained, and its card."""

    name: str
    version: int
    trained_at: str
    training_rows: int
    source: str
    targets: dict[str, Target]

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """p_cure and p_roll for each row of `frame` (the features of `FEATURES`)."""
        missing = [f.name for f in FEATURES if f.name not in frame.columns]
        if missing:
            raise ScorecardError(f"columns missing for scoring: {', '.join(missing)}")
        return pd.DataFrame(
            {f"p_{name}": t.probability(frame) for name, t in self.targets.items()}, index=frame.index
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "trained_at": self.trained_at,
            "training_rows": self.training_rows,
            "source": self.source,
            "features": [f.name for f in FEATURES],
            "targets": {
                name: {
                    "bins": [
                        {
                            "feature": b.feature,
                            "splits": b.splits,
                            "woe": b.woe,
                            "missing_woe": b.missing_woe,
                            "event_rate": b.event_rate,
                            "count": b.count,
                        }
                        for b in t.bins
                    ],
                    "intercept": t.intercept,
                    "coefficients": t.coefficients,
                    "metrics": t.metrics,
                    "calibration": t.calibration,
                    "psi_edges": t.psi_edges,
                    "psi_expected": t.psi_expected,
                }
                for name, t in self.targets.items()
            },
        }

    @property
    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ScoreModel:
        try:
            return cls(
                name=str(body["name"]),
                version=int(body["version"]),
                trained_at=str(body["trained_at"]),
                training_rows=int(body["training_rows"]),
                source=str(body["source"]),
                targets={
                    name: Target(
                        name=name,
                        bins=[Bins(**b) for b in t["bins"]],
                        intercept=float(t["intercept"]),
                        coefficients={k: float(v) for k, v in t["coefficients"].items()},
                        metrics={k: float(v) for k, v in t["metrics"].items()},
                        calibration=list(t["calibration"]),
                        psi_edges=[float(e) for e in t["psi_edges"]],
                        psi_expected=[float(e) for e in t["psi_expected"]],
                    )
                    for name, t in body["targets"].items()
                },
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ScorecardError(f"not a scorecard model: {exc!r}") from None


def default_model() -> ScoreModel:
    """The model that ships with the project, trained on a generated portfolio."""
    text = resources.files("arrears.strategy").joinpath("models/default.json").read_text()
    return ScoreModel.from_json(json.loads(text))


def write(model: ScoreModel, directory: Path, stem: str | None = None) -> tuple[Path, Path]:
    """Write the model (JSON) and its card (Markdown) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = stem or f"{model.name}-v{model.version}"
    body, card_file = directory / f"{stem}.json", directory / f"{stem}.md"
    body.write_text(json.dumps(model.to_json(), indent=1, sort_keys=True) + "\n")
    card_file.write_text(card(model) + "\n")
    return body, card_file


def train(
    frame: pd.DataFrame, *, name: str = "scorecard", version: int = 1, source: str = "", seed: int = 7
) -> ScoreModel:
    """Bin every feature monotonically, fit a logistic regression on the WoE per target, and
    measure it on a held-out 30%."""
    from optbinning import OptimalBinning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    missing = [c for c in [*(f.name for f in FEATURES), *TARGETS] if c not in frame.columns]
    if missing:
        raise ScorecardError(f"columns missing for training: {', '.join(missing)}")
    if len(frame) < MIN_ROWS:
        raise ScorecardError(f"{len(frame)} cases of history: at least {MIN_ROWS} are needed to train")
    targets: dict[str, Target] = {}
    for target in TARGETS:
        y_all = frame[target].to_numpy(dtype=int)
        if y_all.min() == y_all.max():
            raise ScorecardError(f"every case has {target}={y_all[0]}: nothing to learn")
        train_idx, test_idx = train_test_split(
            np.arange(len(frame)), test_size=0.3, random_state=seed, stratify=y_all
        )
        fit, held = frame.iloc[train_idx], frame.iloc[test_idx]
        y_fit, y_held = y_all[train_idx], y_all[test_idx]
        bins: list[Bins] = []
        for feature in FEATURES:
            x = fit[feature.name].to_numpy(dtype=float)
            known = x[~np.isnan(x)]
            if len(np.unique(known)) < 2:  # nothing to bin: one bin, no weight
                bins.append(Bins(feature.name, [], [0.0], 0.0, [float(y_fit.mean())], [len(x)]))
                continue
            ob = OptimalBinning(
                name=feature.name, dtype="numerical", monotonic_trend="auto_asc_desc", solver="cp"
            )
            ob.fit(x, y_fit)
            table = ob.binning_table.build()
            n = len(ob.splits) + 1
            bins.append(
                Bins(
                    feature=feature.name,
                    splits=[float(s) for s in ob.splits],
                    woe=[float(w) for w in table["WoE"].iloc[:n]],
                    missing_woe=float(table["WoE"].iloc[n + 1]),
                    event_rate=[float(r) for r in table["Event rate"].iloc[:n]],
                    count=[int(c) for c in table["Count"].iloc[:n]],
                )
            )
        woe_fit = np.column_stack([b.transform(fit[b.feature].to_numpy(dtype=float)) for b in bins])
        lr = LogisticRegression(max_iter=1000).fit(woe_fit, y_fit)
        partial = Target(
            name=target,
            bins=bins,
            intercept=float(lr.intercept_[0]),
            coefficients={b.feature: float(c) for b, c in zip(bins, lr.coef_[0], strict=True)},
            metrics={},
            calibration=[],
            psi_edges=[],
            psi_expected=[],
        )
        p_held = partial.probability(held)
        p_all = partial.probability(frame)
        edges = _edges(p_all)
        targets[target] = Target(
            name=target,
            bins=bins,
            intercept=partial.intercept,
            coefficients=partial.coefficients,
            metrics=metrics(y_held, p_held) | {"event_rate": float(y_all.mean())},
            calibration=calibration(y_held, p_held),
            psi_edges=edges,
            psi_expected=_shares(p_all, edges),
        )
    return ScoreModel(
        name=name,
        version=version,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        training_rows=len(frame),
        source=source,
        targets=targets,
    )


def metrics(y: np.ndarray[Any, Any], p: np.ndarray[Any, Any]) -> dict[str, float]:
    """AUC, Gini and KS of probabilities `p` for outcomes `y`."""
    from scipy.stats import ks_2samp
    from sklearn.metrics import brier_score_loss, roc_auc_score

    auc = float(roc_auc_score(y, p))
    ks = float(ks_2samp(p[y == 1], p[y == 0]).statistic)
    return {"auc": auc, "gini": 2 * auc - 1, "ks": ks, "brier": float(brier_score_loss(y, p))}


def calibration(y: np.ndarray[Any, Any], p: np.ndarray[Any, Any], groups: int = 10) -> list[dict[str, float]]:
    """Mean predicted against observed rate, by decile of the prediction."""
    order = np.argsort(p, kind="stable")
    rows = []
    for part in np.array_split(order, groups):
        if len(part):
            rows.append(
                {"n": float(len(part)), "predicted": float(p[part].mean()), "observed": float(y[part].mean())}
            )
    return rows


def _edges(p: np.ndarray[Any, Any]) -> list[float]:
    qs = np.quantile(p, np.linspace(0, 1, PSI_BINS + 1)[1:-1])
    return sorted({float(q) for q in qs})


def _shares(p: np.ndarray[Any, Any], edges: Sequence[float]) -> list[float]:
    idx = np.searchsorted(np.asarray(edges), p, side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1)
    return [float(c) / max(len(p), 1) for c in counts]


def psi(target: Target, p: np.ndarray[Any, Any]) -> float:
    """Population stability of scores `p` against the training population (0: unchanged)."""
    actual = _shares(p, target.psi_edges)
    eps = 1e-4
    return float(
        sum(
            (a - e) * math.log(max(a, eps) / max(e, eps))
            for a, e in zip(actual, target.psi_expected, strict=True)
        )
    )


def drift(value: float) -> str:
    """stable below 0.1, watch to 0.25, act above."""
    return "act" if value > PSI_ACT else "watch" if value > PSI_WATCH else "stable"


def card(model: ScoreModel) -> str:
    """The model card in Markdown: what it predicts, from what, how well, and its bins."""
    lines = [
        f"# Scorecard {model.name} v{model.version}",
        "",
        f"Trained {model.trained_at} on {model.training_rows} cases ({model.source or 'history'}).",
        "Optimal monotonic binning with weight of evidence (optbinning), then a logistic regression"
        " (scikit-learn); metrics on a stratified held-out 30%.",
        "",
        "## Features, and why each is allowed",
        "",
        "No protected attribute and no proxy of one is used: no name, address, postcode, language,"
        " time zone, country or pack, product, team, age or date of birth.",
        "",
        *(f"- `{f.name}`: {f.meaning} Allowed: {f.why}" for f in FEATURES),
        "",
    ]
    for name, t in model.targets.items():
        m = t.metrics
        lines += [
            f"## Target `{name}`",
            "",
            f"AUC {m['auc']:.3f}, Gini {m['gini']:.3f}, KS {m['ks']:.3f}, Brier {m['brier']:.4f};"
            f" event rate {m['event_rate']:.3f}.",
            "",
            "Calibration (held-out deciles): predicted / observed",
            "",
            "| decile | n | predicted | observed |",
            "|---:|---:|---:|---:|",
            *(
                f"| {i} | {int(r['n'])} | {r['predicted']:.3f} | {r['observed']:.3f} |"
                for i, r in enumerate(t.calibration, start=1)
            ),
            "",
            f"Intercept {t.intercept:.4f}.",
            "",
        ]
        for b in t.bins:
            lines += [
                f"### `{b.feature}` (coefficient {t.coefficients[b.feature]:.4f})",
                "",
                "| bin | count | event rate | WoE |",
                "|---|---:|---:|---:|",
                *(
                    f"| {label} | {c} | {r:.3f} | {w:.4f} |"
                    for label, c, r, w in zip(b.labels(), b.count, b.event_rate, b.woe, strict=True)
                ),
                "",
            ]
    return "\n".join(lines)
