"""Load benchmark of the gateway (issue 2 §7); not a test. Run ``python3 bench/load.py --help``."""
