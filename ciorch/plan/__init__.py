"""ciorch.plan"""
