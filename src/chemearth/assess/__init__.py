"""Assessment: screening against soil-quality standards (:mod:`~chemearth.assess.screening`),
change between campaigns (:mod:`~chemearth.assess.change`), anomalies
(:mod:`~chemearth.assess.anomalies`), fractal zones and composite anomalies
(:mod:`~chemearth.assess.fractal_zones`) and geochemical blocks (:mod:`~chemearth.assess.blocks`).
"""
