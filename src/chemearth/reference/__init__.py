"""Reference facts that every stage names things by: elements and oxides with their
atomic weights, units, countries, column names, soil-quality standards (with their
shipped TOML files in ``data/standards/``) and reference compositions of the crust and of
shales (``data/compositions/``).
"""
