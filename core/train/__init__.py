"""Training: TrainConfig and presets, run folders, the launcher (UI side) and the worker (training process)."""
