"""Publishing versions into the hub tree: staging and commit, manifest writing, tarball, gc."""
