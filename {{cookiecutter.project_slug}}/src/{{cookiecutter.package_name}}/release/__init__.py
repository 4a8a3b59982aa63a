"""Release step: the metrics gate, the metrics files it compares, and promotion to champion."""
