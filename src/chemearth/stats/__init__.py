"""Statistics: summaries (:mod:`~chemearth.stats.summary`), censored-data estimators
(:mod:`~chemearth.stats.censored`), map classes (:mod:`~chemearth.stats.classes`) and
baselines with thresholds for any region (:mod:`~chemearth.stats.baselines`).
"""
