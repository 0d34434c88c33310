"""ciorch.engine"""
