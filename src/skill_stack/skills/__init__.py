"""Skills: learned, keypoint-conditioned policies with typed arguments, feasibility and success checks."""
