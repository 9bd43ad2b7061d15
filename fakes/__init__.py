"""Local fakes of the Tencent Cloud services the function talks to (see fakes/mps)."""
