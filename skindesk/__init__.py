"""SkinDesk: decision support for dermoscopic skin-lesion images (never a diagnosis)."""

import os

__all__ = ["__version__"]

# onnxruntime (1.2x and later on Linux and macOS) writes a device identifier under
# ~/.cache/Microsoft/DeveloperTools and queues telemetry for upload as soon as it is imported,
# unless this is set first. SkinDesk sends nothing anywhere, so it is set before anything can
# import onnxruntime.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

__version__ = "0.1.0"
