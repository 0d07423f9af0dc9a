"""``python -m vidq`` runs the command-line tool."""

from vidq.cli.app import main

if __name__ == "__main__":
    main()
