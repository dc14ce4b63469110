"""The fitted parts of the fidelity score, one small file per backend (docs/design.md §5, §8).

`pluralign/rewards/heads/fidelity-<backend>.npz` (no pickle: float32 arrays and a JSON `meta`):
- `stance_W` (4 classes x features), `stance_b`: the stance model, a multinomial logistic
  regression over `fidelity_features.stance_features`, standardisation folded in;
- `stance_same_bias` (across languages, within one): the operating point, an offset on the
  `same` logit chosen so that real faithful renderings are read as changed at a stated rate;
- `adequacy_<head>_coef`, `adequacy_<head>_intercept` for the heads `across` (translations) and
  `within` (same-language rewrites): calibrated linear scores over `adequacy_features`;
- `meta`: the backend the file was fitted for, the features, the expected length ratios, the
  topicality ramps, the calibration and how it was all fitted (data hashes, strengths, figures).

Versions are `<kind>.v<FORMAT>+<sha1 of the weight bytes, 8 hex>` (`stance`, `adequacy`), and
`version` = `fidelity-head.v<FORMAT>+<sha1 of every weight and every fitted number in meta that
scoring reads>`; signatures carry all three, so scores made with other weights never look comparable. `pluralign fit fidelity --backend SPEC` writes a file.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from pluralign.errors import UsageError

FORMAT = 1
CLASSES = ("same", "flipped", "softened", "amplified")
HEADS = ("across", "within")  # across languages (a translation), within one (a reformulation)


def head_of(source_language: str, target_language: str) -> str:
    return "across" if source_language != target_language else "within"


def file_name(spec: str) -> str:
    return "fidelity-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", spec) + ".npz"


def shipped_path(spec: str) -> Path:
    return Path(str(resources.files("pluralign.rewards") / "heads" / file_name(spec)))


def embedding_spec(backend) -> str:
    """The backend whose embeddings `backend.embed` returns (an NLI backend embeds with MiniLM)."""
    return getattr(backend, "embedding_spec", None) or backend.spec


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha1()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:8]


@dataclass
class FidelityModel:
    stance_W: np.ndarray          # (4, F)
    stance_b: np.ndarray          # (4,)
    stance_same_bias: np.ndarray  # (2,): across, within
    adequacy: dict[str, tuple[np.ndarray, float]]  # head -> (coef, intercept)
    meta: dict

    @property
    def backend(self) -> str:
        return self.meta["backend"]

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"stance_W": self.stance_W, "stance_b": self.stance_b, "stance_same_bias": self.stance_same_bias}
        for head, (coef, intercept) in self.adequacy.items():
            out[f"adequacy_{head}_coef"] = coef
            out[f"adequacy_{head}_intercept"] = np.asarray([intercept])
        return {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}

    @property
    def versions(self) -> dict[str, str]:
        a = self.arrays()
        return {"stance": f"stance-lr.v{FORMAT}+{_digest(a['stance_W'], a['stance_b'], a['stance_same_bias'])}",
                "adequacy": f"adequacy-pairwise.v{FORMAT}+{_digest(*(a[k] for k in sorted(a) if k.startswith('adequacy_')))}"}

    @property
    def version(self) -> str:
        """The whole head: every weight and every fitted number the scorer reads from `meta` (length
        ratios, topicality ramps, features, the operating point's policy). Another fit, or a file
        edited by hand, gets another version, so its scores never pass for comparable."""
        read = {k: self.meta.get(k) for k in ("backend", "stance_scalars", "adequacy_features", "length_norm",
                                              "topicality")}
        read["false_alarm"] = self.meta.get("calibration", {}).get("false_alarm")
        scoring = np.frombuffer(json.dumps(read, sort_keys=True).encode(), dtype=np.uint8)
        a = self.arrays()
        return f"fidelity-head.v{FORMAT}+{_digest(*(a[k] for k in sorted(a)), scoring)}"

    def stance_probabilities(self, X: np.ndarray, across: np.ndarray, calibrated: bool = True) -> np.ndarray:
        """P(class) for each row of stance features, columns in CLASSES order; `across` says which
        operating point applies (a translation's or a same-language rewrite's)."""
        logits = X @ self.stance_W.T.astype(np.float64) + self.stance_b
        if calibrated:
            logits[:, 0] += np.where(across, self.stance_same_bias[0], self.stance_same_bias[1])
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def adequacy_scores(self, X: np.ndarray, across: np.ndarray) -> np.ndarray:
        """Adequacy in (0, 1) for each row of adequacy features, by the head of its language pair."""
        out = np.empty(len(X))
        for flag, head in ((True, "across"), (False, "within")):
            rows = np.asarray(across) == flag
            if rows.any():
                coef, intercept = self.adequacy[head]
                out[rows] = 1.0 / (1.0 + np.exp(-(X[rows] @ coef.astype(np.float64) + intercept)))
        return out


def save_model(path: Path, model: FidelityModel) -> dict:
    """Write the model (float32 arrays, JSON meta with its versions); returns the meta written."""
    from pluralign.files import atomic_write

    arrays = model.arrays()
    model.meta.update({"format": FORMAT, "classes": list(CLASSES), "versions": model.versions, "version": model.version})
    with atomic_write(Path(path), binary=True) as handle:
        np.savez_compressed(handle, meta=np.array(json.dumps(model.meta, ensure_ascii=False)), **arrays)
    return model.meta


def read_model(path: Path) -> FidelityModel:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            heads = {h: (z[f"adequacy_{h}_coef"].astype(np.float64), float(z[f"adequacy_{h}_intercept"][0])) for h in HEADS}
            model = FidelityModel(z["stance_W"].astype(np.float64), z["stance_b"].astype(np.float64),
                                  z["stance_same_bias"].astype(np.float64), heads, meta)
    except (OSError, KeyError, ValueError) as err:
        raise UsageError(f"{path}: not a fidelity weights file ({err}); write one with "
                         "`pluralign fit fidelity --backend SPEC --out FILE`") from None
    if meta.get("format") != FORMAT or tuple(meta.get("classes", ())) != CLASSES:
        raise UsageError(f"{path}: weights of format {meta.get('format')}, this pluralign reads format {FORMAT}; "
                         f"refit them: pluralign fit fidelity --backend {meta.get('backend', 'SPEC')}")
    return model


def load_model(backend, weights: str | Path | FidelityModel | None = None) -> FidelityModel:
    """The fitted model for `backend`: `weights` (a file, or a model already built), else the one
    shipped for the backend's embeddings. Weights fitted on other embeddings are refused."""
    spec = embedding_spec(backend)
    if isinstance(weights, FidelityModel):
        model, where = weights, "the fidelity model given"
    else:
        path = Path(weights) if weights is not None else shipped_path(spec)
        if weights is None and not path.exists():
            shipped = sorted(p.name.removeprefix("fidelity-").removesuffix(".npz") for p in path.parent.glob("fidelity-*.npz"))
            raise UsageError(
                f"no fidelity weights ship for backend {spec!r} (shipped: {', '.join(shipped) or 'none'}); fit them "
                f"from a checkout with `pluralign fit fidelity --backend {spec} --out FILE` and pass the file "
                "(`score rewrites --weights FILE`, or rewards.options.fidelity.weights in a recipe)")
        model, where = read_model(path), str(path)
    if model.backend != spec:
        raise UsageError(f"{where}: fidelity weights fitted for {model.backend!r}, not {spec!r}: a head means something "
                         f"only on the embeddings it was fitted on; fit them: pluralign fit fidelity --backend {spec}")
    return model
