"""SkinDesk's Qt-free, TensorFlow-free core: images in, typed predictions out."""
