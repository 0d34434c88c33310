"""ciorch.testing"""
