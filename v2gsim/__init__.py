"""v2gsim subpackage."""
