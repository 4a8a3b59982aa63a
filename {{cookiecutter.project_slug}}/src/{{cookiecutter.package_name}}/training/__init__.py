"""Training step: features -> split -> fit -> evaluate -> log and register one model version."""
