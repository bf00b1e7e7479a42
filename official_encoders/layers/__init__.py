"""Building blocks shared by the encoders."""
