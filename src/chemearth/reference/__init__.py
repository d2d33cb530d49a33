"""Reference facts that every stage names things by: elements and oxides with their
atomic weights, units, countries, column names, and soil-quality standards (with their
shipped TOML files in ``data/standards/``).
"""
