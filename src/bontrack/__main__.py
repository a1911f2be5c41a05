"""`python -m bontrack`: the command line, as the `bontrack` command."""

from bontrack.cli import main

if __name__ == "__main__":
    main()
