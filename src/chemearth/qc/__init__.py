"""Quality control: precision of duplicates and nested ANOVA
(:mod:`~chemearth.qc.precision`), reference-material control charts
(:mod:`~chemearth.qc.control`), levelling between methods (:mod:`~chemearth.qc.levelling`)
and the data-quality report (:mod:`~chemearth.qc.report`).
"""
