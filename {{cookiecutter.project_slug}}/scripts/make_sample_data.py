"""Write data/sample/customers.csv: a seeded, synthetic customer table with learnable signal.

Run `python scripts/make_sample_data.py` to regenerate it; the same seed gives the same bytes.
It has numeric, categorical and date columns, missing values, and one target per problem type:
`churned` (classification) and `spend_next_year` (regression).
"""

import argparse
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 4000
SEED = 20240101
START = date(2019, 1, 1)
DAYS = 5 * 365
PLANS = np.array(["basic", "standard", "premium"])
REGIONS = np.array(["north", "south", "east", "west"])


def make(rows: int, seed: int) -> pd.DataFrame:
    """Draw the table; the targets depend on the features plus noise."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(PLANS, size=rows, p=[0.5, 0.35, 0.15])
    region = rng.choice(REGIONS, size=rows).astype(object)
    signup = [START + timedelta(days=int(d)) for d in rng.integers(0, DAYS, size=rows)]
    tenure = np.array([(date(2024, 1, 1) - d).days for d in signup]) / 365.25
    age = rng.normal(42, 12, size=rows).clip(18, 90).round()
    base = {"basic": 20.0, "standard": 45.0, "premium": 90.0}
    spend = np.array([base[p] for p in plan]) * rng.lognormal(0, 0.25, size=rows)
    tickets = rng.poisson(1 + 2 * (plan == "basic"), size=rows)
    login = rng.exponential(12, size=rows).round()
    logit = (
        -1.2
        + 0.45 * tickets
        + 0.05 * login
        - 0.35 * tenure
        - 0.9 * (plan == "premium")
        + 0.4 * (region == "south")
        - 0.01 * (age - 42)
    )
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    spend_next_year = (
        12 * spend * (1 + 0.05 * tenure) * np.exp(-0.02 * login) * (1 - 0.08 * tickets).clip(0.3)
        + rng.normal(0, 40, size=rows)
    ).clip(0)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(1, rows + 1)],
            "signup_date": signup,
            "plan": plan,
            "region": region,
            "age": pd.array(age.astype(np.int64), dtype="Int64"),
            "monthly_spend": spend.round(2),
            "support_tickets": tickets,
            "last_login_days": pd.array(login.astype(np.int64), dtype="Int64"),
            "churned": churned,
            "spend_next_year": spend_next_year.round(2),
        }
    )
    for column, share in (("region", 0.03), ("age", 0.05), ("last_login_days", 0.08)):
        frame.loc[rng.random(rows) < share, column] = None
    return frame


def main() -> None:
    """Parse arguments and write the CSV."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=Path("data/sample/customers.csv"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    make(args.rows, args.seed).to_csv(args.out, index=False)
    print(f"wrote {args.rows} rows to {args.out}")


if __name__ == "__main__":
    main()
