"""Statistics: summaries (:mod:`~chemearth.stats.summary`), censored-data estimators
(:mod:`~chemearth.stats.censored`), map classes (:mod:`~chemearth.stats.classes`) and
baselines with thresholds for any region (:mod:`~chemearth.stats.baselines`), and
compositional data analysis: log-ratio transforms and robust distances
(:mod:`~chemearth.stats.compositional`), robust principal components and factors
(:mod:`~chemearth.stats.compositional_factors`) and spider/REE normalisation
(:mod:`~chemearth.stats.spider`).
"""
