"""``python -m zkmargin.cli``."""

from . import main

main()
