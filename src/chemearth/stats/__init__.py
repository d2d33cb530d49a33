"""Statistics: summaries (:mod:`~chemearth.stats.summary`), censored-data estimators
(:mod:`~chemearth.stats.censored`), trend and paired-change tests of censored data
(:mod:`~chemearth.stats.trends`), false-discovery-rate control
(:mod:`~chemearth.stats.multiple_testing`), map classes (:mod:`~chemearth.stats.classes`),
baselines with thresholds for any region (:mod:`~chemearth.stats.baselines`), and
compositional data analysis: log-ratio transforms and robust distances
(:mod:`~chemearth.stats.compositional`), robust principal components and factors
(:mod:`~chemearth.stats.compositional_factors`) and spider/REE normalisation
(:mod:`~chemearth.stats.spider`), segmented regression (:mod:`~chemearth.stats.segmented`)
and fractal anomaly separation (:mod:`~chemearth.stats.fractal`).
"""
