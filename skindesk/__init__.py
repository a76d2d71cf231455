"""SkinDesk: decision support for dermoscopic skin-lesion images (never a diagnosis)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
