"""The built-in rules: duplicates (DUP), format (FMT), references (REF) and policy (POL) rules."""
