"""`python -m scanner` runs the kaic command line."""

from scanner.cli import main

main()
