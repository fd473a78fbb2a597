"""Built-in study specs (YAML files), each reproducing a course report's experiments."""
