"""The shipped circuits, as data: one TOML file each (installed as ``zkmargin.circuits``)."""
