"""Interpolation: variograms, ordinary kriging, surfaces on grid cells and the local
projections they are computed in.
"""
