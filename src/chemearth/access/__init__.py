"""Access: sharing policies and tokens (:mod:`~chemearth.access.policy`,
:mod:`~chemearth.access.tokens`) and the access-checked services that every door uses —
reading (:mod:`~chemearth.access.gateway`), uploads (:mod:`~chemearth.access.uploads`),
assessment (:mod:`~chemearth.access.assessor`), maps (:mod:`~chemearth.access.mapper`)
and data quality (:mod:`~chemearth.access.inspector`).
"""
