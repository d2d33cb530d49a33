"""``python -m chemearth.cli``."""

from chemearth.cli import main

main()
