"""The model without Mesa: state tables, one module per submodel of the ODD's schedule, the engine and its outcomes."""
