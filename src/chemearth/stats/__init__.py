"""Statistics: summaries (:mod:`~chemearth.stats.summary`), censored-data estimators
(:mod:`~chemearth.stats.censored`), map classes (:mod:`~chemearth.stats.classes`),
baselines with thresholds for any region (:mod:`~chemearth.stats.baselines`), segmented
regression (:mod:`~chemearth.stats.segmented`) and fractal anomaly separation
(:mod:`~chemearth.stats.fractal`).
"""
