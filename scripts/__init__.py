"""The evidence scripts: validation, calibration, patterns, spread, claims, the parameter
provenance and the England data build and validation, each run from the repository's root as a
module (``python -m scripts.validation``).

They are a package so that they import each other (``from scripts.scriptkit import ...``)
without editing ``sys.path``; none of them is part of the installed ``sim`` package.
"""
