"""Start the Infusion Console: ``python main.py --help`` lists every option."""

from console.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
