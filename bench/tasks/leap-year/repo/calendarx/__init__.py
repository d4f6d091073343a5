"""Calendar arithmetic that the standard library leaves out."""
