"""The grid database: nested equal-area grid geometry (:mod:`~chemearth.grid.geometry`),
per-cell statistics (:mod:`~chemearth.grid.aggregate`, on the compiled kernels of
:mod:`~chemearth.grid.kernels`), cell tables of every level
(:mod:`~chemearth.grid.tables`), the stored layers (:mod:`~chemearth.grid.layers`) and the
same build on a Dask cluster (:mod:`~chemearth.grid.distributed`).
"""
