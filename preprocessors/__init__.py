"""In-graph text preprocessing (tensorflow-text) that produces encoder inputs."""
