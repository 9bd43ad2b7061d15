"""mps-autoenhance: the code that runs in SCF. Keep imports here empty: they cost cold start."""
