"""Assessment: screening against soil-quality standards (:mod:`~chemearth.assess.screening`),
change between campaigns (:mod:`~chemearth.assess.change`) and its per-cell
significance for re-sampled sites (:mod:`~chemearth.assess.change_significance`), anomalies
(:mod:`~chemearth.assess.anomalies`), fractal zones and composite anomalies
(:mod:`~chemearth.assess.fractal_zones`), geochemical blocks (:mod:`~chemearth.assess.blocks`), and
probabilistic screening (:mod:`~chemearth.assess.probabilistic`, checked on held-out samples by
:mod:`~chemearth.assess.calibration`).
"""
