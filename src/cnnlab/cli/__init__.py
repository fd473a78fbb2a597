"""The command line: one thin module a verb, each over a public Python function."""
