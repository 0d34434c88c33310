"""ciorch.config"""
