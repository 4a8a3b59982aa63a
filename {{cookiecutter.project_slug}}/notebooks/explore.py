# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Exploring the data
#
# The project's own pipeline, one step at a time: the raw file named in `configs/v1.yaml`,
# validated against `schema.yaml` and turned into features exactly as training sees them. Point
# `data.raw_path` at your data (and describe its columns with `schema infer`) to explore it here.
#
# Run it as a script (`uv run python notebooks/explore.py`) or open it as a notebook (README,
# "Notebooks"). It is kept as plain Python: diffs stay readable and outputs stay out of git.

# %%
from pathlib import Path

import pandas as pd

from {{ cookiecutter.package_name }}.core.config import load_config
from {{ cookiecutter.package_name }}.core.schema import feature_names, target
from {{ cookiecutter.package_name }}.features import build_features

pd.set_option("display.width", 120)
config = load_config(Path("configs/v1.yaml"))
features = build_features(config.data)
frame = features.frame
label = target()
print(f"{len(frame):,} rows from {config.data.raw_path}; features written to {features.path}")

# %% [markdown]
# ## Missing values and ranges
# The model imputes missing values; a column that is mostly missing is worth a second look.

# %%
summary = frame[feature_names("numeric")].describe().T
summary["missing"] = frame[feature_names("numeric")].isna().mean()
print(summary.round(2))

# %%
for column in feature_names("categorical"):
    print(frame[column].value_counts(dropna=False, normalize=True).round(3), end="\n\n")

# %% [markdown]
# ## The target
# Its distribution, and how each numeric feature moves with it (Spearman: robust to outliers).

# %%
print(frame[label].describe().round(3))
relation = frame[[*feature_names("numeric"), label]].corr(method="spearman")[label]
print(relation.drop(label).sort_values(key=abs, ascending=False).round(3))
