"""ciorch.adapters"""
