"""Top floor: the `lakehouse` command, the main job and demos. Imports every floor below; nothing imports it."""
