"""The release of symbackprop, a leaf module: packaging reads it, generated files print it."""

__version__ = "0.1.0"
