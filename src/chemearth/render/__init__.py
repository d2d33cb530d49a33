"""Rendering: statistical plots, exploratory and QC figures, geochemical maps, map tiles,
the atlas and its words, biplots and spider diagrams, and exports (COG, NetCDF,
GeoParquet, CSV, GeoPackage).
"""
