// Host module
