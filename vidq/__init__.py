"""vidq: understand long videos from the command line.

The package is layered (see DESIGN.md): ``media`` -> ``speech`` -> ``compress`` ->
``models`` -> ``tasks`` -> ``cli``, with ``store`` as a cache beside them.  Lower layers
never import higher ones.
"""

__version__ = "0.1.0"
