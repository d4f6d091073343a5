"""Triton kernels for the runtime's hot paths, each beside its PyTorch reference."""
