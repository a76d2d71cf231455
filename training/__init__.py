"""SkinDesk training: data audit, leakage-safe splits, Keras models, evaluation, ONNX export."""
