"""The test suite: a package, so that tests import their helpers as ``tests.helpers``,
``tests.sweep_support`` and so on, with no ``sys.path`` edit."""
